// @skitai/app: the App framework (Skitai's Saddle), mounted with kernel.mount(point, app).
export { App, type AppOptions, type ErrorInfo, type RemoteSource } from './app.js';
export { Route, type RouteOptions, type Handler, type CorsOptions } from './route.js';
export { Rule, Router, type ParamType } from './router.js';
export { HttpError } from './http-error.js';
export { AppRequest, type AuthUser } from './request.js';
export { ApiResponse } from './api.js';
export { ResponseValue, FileValue, type ResponseFn, type HeaderList } from './response.js';
export { UploadedFile, type SaveOptions } from './upload.js';
export { SessionManager, MboxManager, Session, Mbox, type MboxMessage, type MountCookieOptions } from './session.js';
export { Cookies, type CookieOptions } from './cookie.js';
export { AppEvents } from './events.js';
export type { TemplateOverlay } from './template.js';
export type { UserCollection, UserEntry } from './auth.js';
export type { Args } from './params.js';
// Also brings the `was` members' declaration merging into every importer's program.
export { CSRF_FIELD, APP_WAS_MEMBERS } from './was-ext.js';
export { commitState } from './context.js';
