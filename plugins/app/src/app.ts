// The App framework (Skitai's Saddle): routes, parameters, hooks, errors; mounted through
// the kernel's mount table as a Mountable.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Nunjucks from 'nunjucks';
import type { SkitaiRequest } from '@skitai/kernel';
import type { SkitaiResponse } from '@skitai/kernel';
import type { MountInfo, Mountable, RequestHandler } from '@skitai/kernel';
import type { Was } from '@skitai/kernel';
import { codes } from './errors.js';
import { toUsers, type UserCollection, type UserEntry } from './auth.js';
import type { RequestContext } from './context.js';
import type { CorsPolicy } from './cors.js';
import { AppEvents, EventBus, type Listener } from './events.js';
import type { AppKernel } from './kernel-api.js';
import type { Args } from './params.js';
import { answerError, checkAuth, handleRequest, runRoute } from './pipeline.js';
import { Route, type Handler, type RouteOptions } from './route.js';
import { Router } from './router.js';
import { createEnvironment, type TemplateOverlay } from './template.js';
import { APP_WAS_MEMBERS, defineWasMembers, OWNER } from './was-ext.js';
import { Reloader } from './reloader.js';
import process from 'node:process';

export interface AppOptions {
  /** Tracebacks in error pages (also on when the kernel runs in debug mode). */
  debug?: boolean;
  /** Pick up changed app files on the next request (see docs/app.md). */
  useReloader?: boolean;
  /** Key for sessions, message boxes and CSRF tokens. */
  securekey?: string;
  /** Session lifetime in seconds (default 1200). */
  sessionTimeout?: number;
  config?: Record<string, any>;
  /** The app's folder (default: the folder of the module that called `new App()`). */
  root?: string;
  /** The module that defines the app (default: the caller's file): what the reloader re-imports. */
  module?: string;
  /** Templates folder (default `<root>/templates`). */
  templates?: string;
  /** Resources folder (default `<root>/resources`). */
  resources?: string;
  /** Bytes (default 5 MB): form, JSON and other bodies. */
  maxPostBodySize?: number;
  /** Bytes (default 20 MB): a whole multipart body. */
  maxMultipartBodySize?: number;
  /** Bytes (default 20 MB): one uploaded file. */
  maxUploadFileSize?: number;
  /** Folder for uploaded files until they are saved (default os.tmpdir()). */
  uploadTmpdir?: string;
  authorization?: 'basic' | 'digest';
  realm?: string;
  users?: UserCollection | Record<string, UserEntry> | Map<string, UserEntry>;
  /** Require authentication on every route. */
  authenticate?: boolean;
  accessControlAllowOrigin?: readonly string[] | string;
  accessControlMaxAge?: number;
}

type HookFn = (was: Was) => unknown;
type FailedFn = (was: Was, err: unknown) => unknown;
type LifecycleFn = (app: App, kernel: AppKernel) => unknown;
/** What an error handler receives. */
export interface ErrorInfo {
  code: number;
  message: string;
  detail: string | undefined;
  url: string;
  time: string;
  /** The stack, only in debug mode. */
  traceback: string | undefined;
  error: unknown;
}
type ErrorHandlerFn = (was: Was, error: ErrorInfo) => unknown;

interface Decoration {
  module: string;
  args: unknown[];
  /** Takes back what its decorate() registered (routes, hooks, listeners). */
  undo: (() => void)[];
}

function isMainScript(module: string): boolean {
  const main = process.argv[1];
  if (!main) return false;
  try {
    const file = module.startsWith('file:') ? fileURLToPath(module.split('?')[0]!) : module;
    return fs.realpathSync(file) === fs.realpathSync(main);
  } catch {
    return false;
  }
}

/** What a broadcast listener gets first when the event came from the kernel or another worker. */
export interface RemoteSource {
  app: App;
  kernel: AppKernel;
  /** The sender's worker id ('M', 'W0' ...). */
  from: string;
}

/** The kernel's messenger lives in the process model, loaded through the package index only. */
function hasMessenger(kernel: AppKernel): boolean {
  try {
    return (kernel as { processModel?: unknown }).processModel !== undefined;
  } catch {
    return false;
  }
}

// Set while was.broadcast hands an event to the kernel, whose same-process delivery is skipped.
let localBroadcasts = 0;

function callerModule(): string | undefined {
  // The first stack frame outside this file: the module that wrote `new App()`. "This file" is
  // the one of this function's own frame, not import.meta.url: loaded from the package's entry
  // (scripts/package-entry.mjs), this code runs in dist/src/entry-modules.js.
  const stack = new Error().stack?.split('\n') ?? [];
  let self: string | undefined;
  for (const line of stack.slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? m[1]! : `file://${m[1]}`;
    const base = file.split('?')[0];
    if (self === undefined) self = base;
    else if (base !== self) return file;
  }
  return undefined;
}

export class App implements Mountable {
  /** The `was` members an App adds, claimed at mount() so that a plugin's clash shows there. */
  readonly was = { owner: OWNER, members: APP_WAS_MEMBERS };
  debug: boolean;
  useReloader: boolean;
  securekey: string | undefined;
  sessionTimeout: number;
  config: Record<string, any>;
  root: string;
  readonly module: string | undefined;
  templatesFolder: string;
  resourcesFolder: string;
  maxPostBodySize: number;
  maxMultipartBodySize: number;
  maxUploadFileSize: number;
  uploadTmpdir: string | undefined;
  authorization: 'basic' | 'digest';
  realm: string;
  private users_: UserCollection | undefined;
  authenticate: boolean;
  accessControlAllowOrigin: readonly string[] | string | undefined;
  accessControlMaxAge: number | undefined;

  router = new Router<Route>();
  private byName = new Map<string, Route>();
  // The fields below without `private` are the request pipeline's (pipeline.ts), not API.
  before: HookFn[] = [];
  finish: HookFn[] = [];
  failed: FailedFn[] = [];
  teardown: HookFn[] = [];
  private lifecycle = new Map<string, LifecycleFn[]>();
  errorHandlers = new Map<number, ErrorHandlerFn>();
  events = new EventBus();
  private broadcasts = new EventBus();
  private templateGlobals = new Map<string, (was: any, ...args: any[]) => unknown>();
  private templateFilters = new Map<string, (...args: any[]) => unknown>();
  private overlay: TemplateOverlay | undefined;
  private env: Nunjucks.Environment | undefined;
  private loginHandler: HookFn | undefined;
  private permissionHandler: ((was: Was, perms: readonly string[]) => unknown) | undefined;
  private decorations: Decoration[] = [];
  reloader: Reloader | undefined;
  appCors: { policy: CorsPolicy | undefined; origins: unknown; maxAge: unknown } = {
    policy: undefined,
    origins: undefined,
    maxAge: undefined,
  };

  kernel: AppKernel | undefined;
  mountInfo: MountInfo | undefined;
  private stopListening: (() => void) | undefined;

  constructor(options: AppOptions = {}) {
    this.module = options.module ?? callerModule();
    const moduleDir = this.module
      ? path.dirname(this.module.startsWith('file:') ? fileURLToPath(this.module.split('?')[0]!) : this.module)
      : process.cwd();
    this.root = options.root ?? moduleDir;
    this.debug = options.debug ?? false;
    this.useReloader = options.useReloader ?? false;
    this.securekey = options.securekey;
    this.sessionTimeout = options.sessionTimeout ?? 1200;
    this.config = options.config ?? {};
    this.templatesFolder = options.templates ?? path.join(this.root, 'templates');
    this.resourcesFolder = options.resources ?? path.join(this.root, 'resources');
    this.maxPostBodySize = options.maxPostBodySize ?? 5 * 1024 * 1024;
    this.maxMultipartBodySize = options.maxMultipartBodySize ?? 20 * 1024 * 1024;
    this.maxUploadFileSize = options.maxUploadFileSize ?? 20 * 1024 * 1024;
    this.uploadTmpdir = options.uploadTmpdir;
    this.authorization = options.authorization ?? 'digest';
    this.realm = options.realm ?? 'App';
    this.users_ = options.users ? toUsers(options.users) : undefined;
    this.authenticate = options.authenticate ?? false;
    this.accessControlAllowOrigin = options.accessControlAllowOrigin;
    this.accessControlMaxAge = options.accessControlMaxAge;
  }

  get users(): UserCollection | undefined {
    return this.users_;
  }
  set users(users: UserCollection | Record<string, UserEntry> | Map<string, UserEntry> | undefined) {
    this.users_ = users ? toUsers(users) : undefined;
  }

  // ------------------------------------------------------------------ routes

  /** `route(rule, handler)` or `route(rule, options, handler)`. */
  route(rule: string, optionsOrHandler: RouteOptions | Handler, maybeHandler?: Handler): Route {
    const [options, handler] =
      typeof optionsOrHandler === 'function' ? [{}, optionsOrHandler] : [optionsOrHandler, maybeHandler!];
    const route = new Route(rule, options, handler);
    this.router.add(route);
    const names = [route.name, rule].filter((n) => !this.byName.has(n));
    // The rule itself is a name too: anonymous handlers are built by their rule.
    for (const n of names) this.byName.set(n, route);
    this.record(() => {
      this.router.remove(route);
      for (const n of names) if (this.byName.get(n) === route) this.byName.delete(n);
    });
    return route;
  }

  /** The path of a route (mount point included): positional values, then an object of named ones. */
  buildUrl(name: string, args: unknown[], base?: string): string {
    const dot = name.indexOf('.');
    if (dot > 0 && !this.byName.has(name) && this.kernel) {
      const other = this.findApp(name.slice(0, dot));
      if (other) return other.buildUrl(name.slice(dot + 1), args);
    }
    const route = this.byName.get(name);
    if (!route) throw codes.SKT_APP_NO_ROUTE(name, [...this.byName.keys()]);
    const last = args[args.length - 1];
    const named =
      last !== null && typeof last === 'object' && !Array.isArray(last) && !(last instanceof Date)
        ? (last as Record<string, unknown>)
        : undefined;
    const positional = named ? args.slice(0, -1) : args;
    return (base ?? this.mountInfo?.point ?? '') + route.build(positional, named ?? {});
  }

  /** Skitai's app.build_url. */
  urlFor(name: string, ...args: unknown[]): string {
    return this.buildUrl(name, args);
  }

  private findApp(name: string): App | undefined {
    const entry = this.kernel?.mounts.findByName(name) ?? this.kernel?.mounts.findByName(`/${name}`);
    return entry && entry.target instanceof App ? entry.target : undefined;
  }

  /** The apps mounted on the same kernel, by mount name. */
  mountedApps(): Record<string, App> {
    const out: Record<string, App> = {};
    for (const e of this.kernel?.mounts.entries ?? []) if (e.target instanceof App) out[e.name] = e.target;
    return out;
  }

  // ------------------------------------------------------------------ hooks

  beforeRequest(fn: HookFn): HookFn {
    this.pushRecorded(this.before, fn);
    return fn;
  }
  finishRequest(fn: HookFn): HookFn {
    this.pushRecorded(this.finish, fn);
    return fn;
  }
  failedRequest(fn: FailedFn): FailedFn {
    this.pushRecorded(this.failed, fn);
    return fn;
  }
  teardownRequest(fn: HookFn): HookFn {
    this.pushRecorded(this.teardown, fn);
    return fn;
  }

  // While a decorate module runs, what it registers is recorded so a reload can take it back.
  private recording: (() => void)[] | undefined;
  private record(undo: () => void): void {
    this.recording?.push(undo);
  }
  private pushRecorded<T>(list: T[], item: T): void {
    list.push(item);
    this.record(() => {
      const i = list.indexOf(item);
      if (i !== -1) list.splice(i, 1);
    });
  }

  private addLifecycle(name: string, fn: LifecycleFn): LifecycleFn {
    const list = this.lifecycle.get(name) ?? [];
    this.lifecycle.set(name, list);
    this.pushRecorded(list, fn);
    return fn;
  }
  /** When the kernel starts, before it listens. */
  onStartup(fn: LifecycleFn): LifecycleFn {
    return this.addLifecycle('startup', fn);
  }
  /** After every mount is attached, and again after each reload. */
  onMounted(fn: LifecycleFn): LifecycleFn {
    return this.addLifecycle('mounted', fn);
  }
  /** A reload (kernel.reload(), SIGHUP, or the reloader). */
  onReload(fn: LifecycleFn): LifecycleFn {
    return this.addLifecycle('reload', fn);
  }
  /** When the kernel unmounts the app at stop. */
  onUmount(fn: LifecycleFn): LifecycleFn {
    return this.addLifecycle('umount', fn);
  }
  /** When the kernel shuts down. */
  onShutdown(fn: LifecycleFn): LifecycleFn {
    return this.addLifecycle('shutdown', fn);
  }

  private async runLifecycle(name: string): Promise<void> {
    for (const fn of this.lifecycle.get(name) ?? []) await fn(this, this.kernel!);
  }

  /** errorHandler(404, fn): fn(was, error) renders the page for that status; 0 for every status. */
  errorHandler(code: number, fn: ErrorHandlerFn): ErrorHandlerFn {
    this.errorHandlers.set(code, fn);
    return fn;
  }
  defaultErrorHandler(fn: ErrorHandlerFn): ErrorHandlerFn {
    return this.errorHandler(0, fn);
  }

  // ------------------------------------------------------------------ events

  on(event: string, fn: Listener): Listener {
    this.events.on(event, fn);
    this.record(() => this.events.off(event, fn));
    return fn;
  }
  off(event: string, fn: Listener): void {
    this.events.off(event, fn);
  }
  /** Calls the app's listeners of `event` with (was, ...args). */
  emit(event: string, ...args: unknown[]): Promise<void> {
    return this.events.emit(event, args);
  }
  /** Wraps a handler so that `event` is emitted (with was) once it has succeeded. */
  emitAfter(event: string, handler: Handler): Handler {
    const app = this;
    return Object.defineProperty(
      async function (was: Was, args: Args) {
        const out = await handler(was, args);
        await app.emit(event, was);
        return out;
      },
      'name',
      { value: handler.name },
    );
  }
  /** Listens to `was.broadcast(event)` from any app mounted on the kernel. */
  onBroadcast(event: string, fn: Listener): Listener {
    this.broadcasts.on(event, fn);
    this.record(() => this.broadcasts.off(event, fn));
    return fn;
  }
  /**
   * Calls the broadcast listeners of every app mounted on the kernel with (was, ...args), then
   * hands the event to the kernel's messenger for the other workers (args must be
   * serializable there; listeners in other workers get a RemoteSource instead of a was).
   */
  async broadcast(event: string, was: unknown, ...args: unknown[]): Promise<void> {
    const apps = this.kernel ? Object.values(this.mountedApps()) : [this];
    for (const app of new Set(apps)) await app.broadcasts.emit(event, [was, ...args]);
    const kernel = this.kernel;
    if (kernel?.broadcast && hasMessenger(kernel)) {
      // The kernel delivers to this process at once too: those apps were served above.
      localBroadcasts++;
      try {
        kernel.broadcast(event, ...args);
      } finally {
        localBroadcasts--;
      }
    }
  }

  /** Kernel broadcasts (other workers, kernel.setlu's model-changed events) to onBroadcast listeners. */
  private listenToKernel(kernel: AppKernel): void {
    if (!kernel.onBroadcast || this.stopListening) return;
    if (!hasMessenger(kernel)) return;
    this.stopListening = kernel.onBroadcast((event, args, from) => {
      if (localBroadcasts > 0 || !this.broadcasts.has(event)) return;
      const source: RemoteSource = { app: this, kernel, from };
      this.broadcasts
        .emit(event, [source, ...args])
        .catch((err) => this.log('error', `broadcast listener for ${event} failed: ${(err as Error)?.stack ?? err}`));
    });
  }
  broadcastAfter(event: string, handler: Handler): Handler {
    const app = this;
    return Object.defineProperty(
      async function (was: Was, args: Args) {
        const out = await handler(was, args);
        await app.broadcast(event, was);
        return out;
      },
      'name',
      { value: handler.name },
    );
  }

  // ------------------------------------------------------------------ login helpers

  /** The handler loginRequired() calls: it returns a response to refuse, nothing to let through. */
  setLoginHandler(fn: HookFn): void {
    this.loginHandler = fn;
  }
  /** (was, perms) => a response to refuse, nothing to let through. */
  setPermissionCheckHandler(fn: (was: Was, perms: readonly string[]) => unknown): void {
    this.permissionHandler = fn;
  }

  loginRequired(handler: Handler): Handler {
    return this.guard(handler, (was) => {
      if (!this.loginHandler) throw codes.SKT_APP_NO_HANDLER('loginRequired', 'app.setLoginHandler');
      return this.loginHandler(was);
    });
  }
  permissionRequired(perms: readonly string[], handler: Handler): Handler {
    return this.guard(handler, (was) => {
      if (!this.permissionHandler)
        throw codes.SKT_APP_NO_HANDLER('permissionRequired', 'app.setPermissionCheckHandler');
      return this.permissionHandler(was, perms);
    });
  }
  /** `test(was)` returns a response to refuse, nothing to let through. */
  testpassRequired(test: HookFn, handler: Handler): Handler {
    return this.guard(handler, test);
  }
  private guard(handler: Handler, check: HookFn): Handler {
    return Object.defineProperty(
      async function (was: Was, args: Args) {
        const refusal = await check(was);
        if (refusal !== undefined && refusal !== null) return refusal;
        return handler(was, args);
      },
      'name',
      { value: handler.name },
    );
  }

  // ------------------------------------------------------------------ templates and resources

  templateGlobal(name: string, fn: (was: any, ...args: any[]) => unknown): void {
    this.templateGlobals.set(name, fn);
    this.env = undefined;
  }
  templateFilter(name: string, fn: (...args: any[]) => unknown): void {
    this.templateFilters.set(name, fn);
    this.env = undefined;
  }
  /** Other delimiters (Skitai's jinja_overlay), e.g. { variableStart: '{=', variableEnd: '=}' }. */
  templateOverlay(overlay: TemplateOverlay): void {
    this.overlay = overlay;
    this.env = undefined;
  }
  /** The nunjucks environment (created on first use). */
  get templateEnv(): Nunjucks.Environment {
    return (this.env ??= createEnvironment({
      folder: this.templatesFolder,
      overlay: this.overlay,
      autoescape: true,
      globals: this.templateGlobals,
      filters: this.templateFilters,
      noCache: this.useReloader || this.isDebug,
    }));
  }

  render(was: Was, name: string, context: Record<string, unknown> = {}): string {
    const params = { ...context, was };
    if (this.events.has(AppEvents.templateRendering))
      void this.events.emit(AppEvents.templateRendering, [was, name, params]);
    const out = this.templateEnv.render(name, params);
    if (this.events.has(AppEvents.templateRendered)) void this.events.emit(AppEvents.templateRendered, [was, out]);
    return out;
  }

  getResource(...parts: string[]): string {
    return path.join(this.resourcesFolder, ...parts);
  }

  // ------------------------------------------------------------------ decorate

  /**
   * Imports a module (a path relative to the app's folder, or a URL) and calls its
   * `decorate(app, ...args)`: routes and helpers in separate files. With the reloader on,
   * the module is imported afresh on each reload.
   */
  async decorateWith(module: string, ...args: unknown[]): Promise<void> {
    const url = module.startsWith('file:') ? module : pathToFileURL(path.resolve(this.root, module)).href;
    const decoration: Decoration = { module: url, args, undo: [] };
    this.decorations.push(decoration);
    // An app module being reloaded imports its decorations afresh too.
    const q = this.module?.indexOf('?skitai-reload=') ?? -1;
    await this.applyDecoration(decoration, q === -1 ? undefined : this.module!.slice(q + 1));
  }

  private async applyDecoration(d: Decoration, generation: string | undefined): Promise<void> {
    const mod = await import(generation ? `${d.module}?${generation}` : d.module);
    const decorate = mod.decorate ?? mod.default?.decorate ?? mod.default;
    if (typeof decorate !== 'function') throw codes.SKT_APP_DECORATE(d.module);
    const outer = this.recording;
    this.recording = d.undo = [];
    try {
      await decorate(this, ...d.args);
    } finally {
      this.recording = outer;
    }
  }

  // ------------------------------------------------------------------ mounting

  async mountTo(kernel: AppKernel | object, info: MountInfo): Promise<RequestHandler> {
    const k = kernel as AppKernel;
    this.kernel = k;
    this.mountInfo = info;
    defineWasMembers(k);
    await this.emit(AppEvents.appStarting, this);
    await this.runLifecycle('startup');
    await this.emit(AppEvents.appStarted, this);
    k.hooks.mounted.tapPromise(`app:${info.name}`, async () => {
      await this.runLifecycle('mounted');
      await this.emit(AppEvents.appMounted, this);
    });
    k.hooks.reload.tapPromise(`app:${info.name}`, () => this.reloadNow());
    k.hooks.shutdown.tapPromise(`app:${info.name}`, () => this.runLifecycle('shutdown'));
    if (this.useReloader && this.module) this.reloader = new Reloader(this.root);
    this.listenToKernel(k);
    // Detached: the App answers its own errors, so the kernel gets a promise only from the
    // paths that still have work after the handler (hooks, bodies, authentication, RPC).
    return (req: SkitaiRequest, res: SkitaiResponse, next?: (err?: unknown) => void) =>
      handleRequest(this, req, res, next, true);
  }

  async umount(): Promise<void> {
    await this.emit(AppEvents.appUnmounting, this);
    await this.runLifecycle('umount');
    this.reloader?.close();
    this.stopListening?.();
    this.stopListening = undefined;
  }

  /** Re-imports the app module (and its decorate modules) and takes their routes and hooks. */
  async reloadNow(): Promise<void> {
    await this.emit(AppEvents.appRestarting, this);
    await this.runLifecycle('reload');
    if (this.module && this.reloader) {
      const generation = this.reloader.nextGeneration();
      let fresh: unknown;
      // The startup script itself is never re-imported (it would start a second server):
      // then only the decorate modules are reloaded.
      if (!isMainScript(this.module)) {
        const mod = await import(`${this.module.split('?')[0]}?${generation}`);
        // As the kernel takes a module's app: `default`, then `app`.
        fresh = mod.default instanceof App ? mod.default : mod.app;
      }
      if (fresh instanceof App && fresh !== this) {
        this.adopt(fresh);
      } else {
        for (const d of this.decorations) {
          for (const undo of d.undo.reverse()) undo();
          await this.applyDecoration(d, generation);
        }
      }
    }
    await this.runLifecycle('mounted');
    await this.emit(AppEvents.appRestarted, this);
  }

  private adopt(fresh: App): void {
    this.router = fresh.router;
    this.byName = fresh.byName;
    this.before = fresh.before;
    this.finish = fresh.finish;
    this.failed = fresh.failed;
    this.teardown = fresh.teardown;
    this.errorHandlers = fresh.errorHandlers;
    this.events = fresh.events;
    this.broadcasts = fresh.broadcasts;
    this.templateGlobals = fresh.templateGlobals;
    this.templateFilters = fresh.templateFilters;
    this.overlay = fresh.overlay;
    this.loginHandler = fresh.loginHandler;
    this.permissionHandler = fresh.permissionHandler;
    this.decorations = fresh.decorations;
    this.config = fresh.config;
    this.env = undefined;
    // The lifecycle taps stay with this (mounted) instance; take the fresh functions.
    this.lifecycle = fresh.lifecycle;
  }

  // ------------------------------------------------------------------ serving (pipeline.ts)

  get isDebug(): boolean {
    return this.debug || this.kernel?.debug === true;
  }
  /**
   * Serves one request (req.url relative to the mount point). With `next` (a static folder
   * mounted at the same point), a path no route takes is handed to it instead of a 404.
   */
  handle(req: SkitaiRequest, res: SkitaiResponse, next?: () => void): Promise<void> | undefined {
    return handleRequest(this, req, res, next);
  }

  /** Throws a 401 with a challenge unless the route needs no authentication or it passes. */
  checkAuthFor(ctx: RequestContext, route: Route): Promise<void> {
    return checkAuth(this, ctx, route);
  }

  /** Parameters check, hooks and handler: the value to send. Throws for an error page. */
  run(ctx: RequestContext, route: Route, routeParams: Record<string, unknown> | undefined): Promise<unknown> {
    return runRoute(this, ctx, route, routeParams);
  }

  /** An error page: the app's error handler for the status, else the kernel's page (HTML or JSON). */
  answerError(ctx: RequestContext, err: unknown): Promise<void> {
    return answerError(this, ctx, err);
  }

  log(level: string, message: string): void {
    if (this.kernel?.logs) this.kernel.logs.log('app', level, message);
    else if (level === 'error') console.error(message);
  }
}
