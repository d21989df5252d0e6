// @skitai/kernel: the public surface. Everything a startup script or a plugin needs.
export { Kernel, type Phase, type StartOptions, type RunOptions, type Listening } from './kernel.js';
export { definePlugin, type Plugin } from './plugin/contract.js';
export type { KernelHooks, ListeningInfo } from './hooks.js';
export { Was, type WasFactory } from './was.js';
export { codes, SkitaiError, type ErrorCode } from './errors.js';
export type { MountEntry, MountInfo, MountOptions, MountTarget, Mountable, RequestHandler } from './mount/table.js';
export { SkitaiRequest } from './http/request.js';
export { SkitaiResponse } from './http/response.js';
export { sendError, prefersJson, escapeHtml } from './http/error-page.js';
export { sendBody, acceptsGzip, isCompressible, COMPRESS_THRESHOLD } from './http/compress.js';
export { createStaticHandler, type StaticOptions } from './static/handler.js';
export { mimeType } from './static/mime.js';
export { ensureTxn, nextGlobalId } from './log/txn.js';
export { REQUEST_LOG_FIELDS, parseRequestLine, type LogRecord } from './log/request-log.js';
export { Logs, type LogLevel } from './log/logger.js';
export { parseCommandLine, type CommandLine } from './run/argv.js';
export * from './app/index.js';
export * from './services/index.js';
