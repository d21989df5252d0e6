// The members the App framework adds to `was`, defined once per kernel as lazy getters
// (kernel.extendWas): a request pays only for the members its handler touches.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Was } from '@skitai/kernel';
import type { App } from './app.js';
import { contextOf } from './context.js';
import { Cookies } from './cookie.js';
import type { AppKernel } from './kernel-api.js';
import type { AppRequest } from './request.js';
import { createResponseFn, ResponseValue, type ResponseFn } from './response.js';
import type { MboxManager, SessionManager } from './session.js';
import { Buffer } from 'node:buffer';

declare module '@skitai/kernel' {
  interface Was {
    /** The App serving this request. */
    readonly app: App;
    /** Mounted apps by mount name. */
    readonly apps: Record<string, App>;
    readonly request: AppRequest;
    readonly response: ResponseFn;
    readonly session: SessionManager;
    readonly mbox: MboxManager;
    readonly cookie: Cookies;
    /** Per-request scratch object. */
    readonly g: Record<string, any>;
    /** URL building: ab('name', ...args) or ab('app.name', ...) for another mounted app. */
    readonly ab: (name: string, ...args: unknown[]) => string;
    readonly render: (name: string, context?: Record<string, unknown>) => string;
    readonly redirect: (url: string, status?: number) => ResponseValue;
    readonly emit: (event: string, ...args: unknown[]) => Promise<void>;
    readonly broadcast: (event: string, ...args: unknown[]) => Promise<void>;
    readonly csrfToken: string;
    readonly csrfTokenInput: string;
    readonly csrfVerify: () => boolean;
  }
}

export const OWNER = '@skitai/app';
/** Every `was` member the App framework defines (claimed when an App is mounted). */
export const APP_WAS_MEMBERS: readonly string[] = Object.freeze([
  'app',
  'apps',
  'request',
  'response',
  'session',
  'mbox',
  'cookie',
  'g',
  'ab',
  'render',
  'redirect',
  'emit',
  'broadcast',
  'csrfToken',
  'csrfTokenInput',
  'csrfVerify',
]);
const done = new WeakSet<object>();
export const CSRF_KEY = '_csrf_token';
export const CSRF_FIELD = 'csrf_token';

function csrfToken(was: Was): string {
  const session = contextOf(was, 'csrfToken').getSession();
  let token = session.get<string>(CSRF_KEY);
  if (!token) {
    token = randomBytes(18).toString('base64url');
    session.set(CSRF_KEY, token);
  }
  return token;
}

export function defineWasMembers(kernel: AppKernel): void {
  if (done.has(kernel)) return;
  done.add(kernel);
  const def = <T>(name: string, factory: (was: Was) => T) => kernel.extendWas(name, factory, OWNER);
  def('app', (was) => contextOf(was, 'app').app);
  def('apps', (was) => contextOf(was, 'apps').app.mountedApps());
  def('request', (was) => contextOf(was, 'request').request);
  def('response', (was) => {
    const ctx = contextOf(was, 'response');
    // Push or early hints come from whichever plugin taps the kernel's `hint` point.
    const hint = kernel.hooks.hint?.isUsed()
      ? (uris: string[]) => kernel.hooks.hint.call(ctx.req, ctx.res, uris)
      : undefined;
    return createResponseFn(ctx.res, hint);
  });
  def('session', (was) => contextOf(was, 'session').getSession());
  def('mbox', (was) => contextOf(was, 'mbox').getMbox());
  def('cookie', (was) => {
    const ctx = contextOf(was, 'cookie');
    return new Cookies(ctx.req, ctx.res, ctx.basePath || '/');
  });
  def('g', () => ({}));
  def('ab', (was) => {
    const ctx = contextOf(was, 'ab');
    return (name: string, ...args: unknown[]) => ctx.app.buildUrl(name, args, ctx.req.baseUrl);
  });
  def('render', (was) => {
    const ctx = contextOf(was, 'render');
    return (name: string, context: Record<string, unknown> = {}) => ctx.app.render(was, name, context);
  });
  def(
    'redirect',
    () =>
      (url: string, status = 302) =>
        new ResponseValue(status, '', { Location: url }),
  );
  def('emit', (was) => {
    const ctx = contextOf(was, 'emit');
    return (event: string, ...args: unknown[]) => ctx.app.emit(event, was, ...args);
  });
  def('broadcast', (was) => {
    const ctx = contextOf(was, 'broadcast');
    return (event: string, ...args: unknown[]) => ctx.app.broadcast(event, was, ...args);
  });
  def('csrfToken', (was) => csrfToken(was));
  def('csrfTokenInput', (was) => `<input type="hidden" name="${CSRF_FIELD}" value="${csrfToken(was)}">`);
  def('csrfVerify', (was) => () => {
    const ctx = contextOf(was, 'csrfVerify');
    const sent = ctx.args[CSRF_FIELD] ?? ctx.req.headers['x-csrf-token'];
    if (typeof sent !== 'string') return false;
    const token = ctx.getSession().get<string>(CSRF_KEY);
    if (!token) return false;
    const a = Buffer.from(sent);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  });
}
