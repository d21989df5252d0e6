import { clockMs } from './http/clock.js';
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import type net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { codes, SkitaiError } from './errors.js';
import { createHooks, type KernelHooks } from './hooks.js';
import { PluginRegistry } from './plugin/registry.js';
import type { Plugin } from './plugin/contract.js';
import { Was, WasRegistry, type WasFactory, type WasMemberOptions } from './was.js';
import { AliasRegistry, type AliasOptions } from './alias/registry.js';
import { ProcessModel, type BroadcastListener, type CriticalPointOptions, type ProcessRole } from './process/model.js';
import type { BackgroundProcessOptions } from './process/background.js';
import type { InstanceBridge } from './process/bridge.js';
import type { Pref } from './process/pref.js';
import {
  MountTable,
  type MountEntry,
  type MountOptions,
  type MountTarget,
  type RequestHandler,
} from './mount/table.js';
import { resolveMountTarget } from './mount/resolve.js';
import { createHttpServer, drainServer, ignoreSocketError } from './http/server.js';
import type { Transport, TransportFactory } from './http/transport.js';
import { pinPrototype } from './http/pin-prototype.js';
import { keepTickShape } from './http/tick-shape.js';
import { createDispatcher } from './http/dispatch.js';
import { sendError } from './http/error-page.js';
import { reason } from './http/status.js';
import { acceptsGzip, compressResponse } from './http/compress.js';
import { requestError, refuseLargeBody } from './http/guard.js';
import type { SkitaiRequest } from './http/request.js';
import type { Mountable } from './mount/table.js';
import { getServerHeader, setServerHeader, type SkitaiResponse } from './http/response.js';
import { createStaticHandler } from './static/handler.js';
import { Logs } from './log/logger.js';
import { logSocketRequest, type RequestLogContext } from './log/request-log.js';
import { parseCommandLine, type CommandLine } from './run/argv.js';
import { checkOptionKeys } from './options.js';
import { RequestMetrics } from './http/metrics.js';
import { localReport, type ProcessReport } from './process/status.js';
import process from 'node:process';

// process.getBuiltinModule, not `import from 'node:module'`: an ESM import of a builtin fills its
// whole namespace (node:module's source-map support) at start.
const pkg = process.getBuiltinModule('node:module').createRequire(import.meta.url)('../../package.json') as {
  version: string;
};

/** The kernel's phases, in the only order they can come (hapi's core has the same idea). */
export type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface StartOptions {
  /** Address to bind (default 0.0.0.0, every interface). */
  address?: string;
  /** Port (default 5000; 0 picks a free one). */
  port?: number;
  /** Folder for server.log, app.log and request.log, rotated daily. */
  logpath?: string;
  /** Log to the console (copies of the files when logpath is set). */
  verbose?: boolean;
}

export interface RunOptions extends StartOptions {
  /** Worker processes (the process model). */
  workers?: number;
  /** Folder for the daemon's pid file (default: the script's folder). */
  varpath?: string;
  /** Skitai's threads: the libuv thread pool size of each worker (UV_THREADPOOL_SIZE). */
  threads?: number;
  /**
   * Node options of the worker processes, after the master's own (default none; RELAY_EXEC_ARGV,
   * `--expose-gc --no-wasm-dynamic-tiering --no-wasm-tier-up`, for a server relaying long bodies).
   */
  execArgv?: readonly string[];
  /**
   * The command line run() reads (-v, --port, --workers, daemon verbs): true (default) reads
   * process.argv, a list reads that list, false reads none (an app with its own command line).
   */
  argv?: boolean | readonly string[];
}

/**
 * `new Kernel({ ... })`: the settings, as the set* methods set them (seconds for times).
 * Skitai's functions (setKeepAlive ...) stay; these are the same settings, given at once.
 */
export interface KernelOptions {
  keepAlive?: number;
  requestTimeout?: number;
  headersTimeout?: number;
  maxClientBodySize?: number;
  stopDeadline?: number;
  /** Seconds a response may make no progress before its connection is cut (setSendTimeout). */
  sendTimeout?: number;
  backendKeepAlive?: number;
  maxRcache?: number;
  /** Debug mode: tracebacks in 500 pages. */
  debug?: boolean;
}

// The keys each options object takes. Records so that TypeScript keeps them in step with the interfaces.
const KERNEL_KEYS: Record<keyof KernelOptions, true> = {
  keepAlive: true,
  requestTimeout: true,
  headersTimeout: true,
  maxClientBodySize: true,
  stopDeadline: true,
  sendTimeout: true,
  backendKeepAlive: true,
  maxRcache: true,
  debug: true,
};
const START_KEYS: Record<keyof StartOptions, true> = { address: true, port: true, logpath: true, verbose: true };
const RUN_KEYS: Record<keyof RunOptions, true> = {
  ...START_KEYS,
  workers: true,
  varpath: true,
  threads: true,
  execArgv: true,
  argv: true,
};

export interface Listening {
  address: string;
  port: number;
  /** 'https' when a transport serves TLS on the port (the http2 plugin), else 'http'. */
  scheme: string;
}

/** The kernel's settings, read by plugins through `kernel.getSettings()`. Times in ms. */
export interface KernelSettings {
  keepAliveTimeout: number;
  requestTimeout: number;
  headersTimeout: number;
  maxHeaderSize: number;
  maxClientBodySize: number;
  stopDeadline: number;
  /** A response that makes no progress this long closes its connection (setSendTimeout; 0: never). */
  sendTimeout: number;
  /** Idle backend connections older than this are closed and reopened (setBackendKeepAlive). */
  backendKeepAlive: number;
  /** Most results kept by the backend services' result cache (setMaxRcache). */
  maxRcache: number;
}

/** A mount's target in a few words, for the status page. */
function describeTarget(e: MountEntry): string {
  if (e.kind === 'static') return e.root;
  if (typeof e.target === 'string') return e.target;
  if (typeof e.target === 'function') return e.target.name ? `${e.target.name}()` : 'a handler';
  const ctor = (e.target as object).constructor?.name;
  return ctor && ctor !== 'Object' ? `${/^[AEIOU]/.test(ctor) ? 'an' : 'a'} ${ctor}` : 'a Mountable';
}

function seconds(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw codes.SKT_INVALID_OPTION(name, value, 'seconds, 0 or more');
  return value * 1000;
}

/** The whole server's state for a status page: `kernel.collectStatus()`. */
export interface ServerStatus {
  kernel: string;
  /** When this status was gathered (ms since the epoch). */
  generatedAt: number;
  /** The startup script. */
  script: string;
  plugins: Array<{ name: string; version: string }>;
  mounts: Array<{ point: string; host?: string; kind: string; target: string }>;
  /** The master (with workers), each worker, or the single process; then background processes. */
  processes: ProcessReport[];
}

/**
 * One server: plugins, tap points, the mount table and the HTTP listener. Configure it
 * (use, mount, set...) while idle, then start() or run().
 */
export class Kernel {
  static readonly version: string = pkg.version;
  readonly version: string = pkg.version;
  readonly hooks: KernelHooks = createHooks();
  readonly mounts = new MountTable();
  readonly plugins = new PluginRegistry();
  /** Backend aliases: `kernel.alias(...)` records them; plugins register the types they serve. */
  readonly aliases = new AliasRegistry();
  /** Debug mode: tracebacks in 500 pages. */
  debug = false;
  /** 'M' for a single process; the process model sets 'W0', 'W1' ... in workers. */
  workerId = 'M';
  /** Server, app and request logs; replaced at start with the options given there. */
  logs: Logs = new Logs({});
  server: http.Server | undefined;

  private phase: Phase = 'idle';
  private readonly wasRegistry = new WasRegistry((name, first, second) =>
    codes.SKT_WAS_EXTENSION_DUPLICATE(name, first, second),
  );
  private readonly settings: KernelSettings = {
    keepAliveTimeout: 30_000,
    requestTimeout: 30_000,
    headersTimeout: 20_000,
    maxHeaderSize: 16 * 1024,
    maxClientBodySize: 32 * 1024 * 1024,
    stopDeadline: 10_000,
    backendKeepAlive: 1_200_000,
    maxRcache: 300,
    sendTimeout: 60_000,
  };
  private readonly maxAges: Array<[string, number]> = [];
  private readonly logOffPatterns: string[] = [];
  private connections: () => number = () => 0;
  /** Sockets taps took and handed back with trackTunnel(): counted as open until they close. */
  private readonly tunnels = new Set<Duplex>();
  private requestLog: RequestLogContext | undefined;
  private transportFactory: { owner: string; factory: TransportFactory } | undefined;
  private transport: Transport | undefined;
  private requestMetrics: RequestMetrics | undefined;
  private stopping: Promise<void> | undefined;
  private swd: string | undefined;

  constructor(options: KernelOptions = {}) {
    checkOptionKeys('new Kernel()', options, Object.keys(KERNEL_KEYS));
    const o = options;
    if (o.keepAlive !== undefined) this.setKeepAlive(o.keepAlive);
    if (o.requestTimeout !== undefined) this.setRequestTimeout(o.requestTimeout);
    if (o.headersTimeout !== undefined) this.setHeadersTimeout(o.headersTimeout);
    if (o.maxClientBodySize !== undefined) this.setMaxClientBodySize(o.maxClientBodySize);
    if (o.stopDeadline !== undefined) this.setStopDeadline(o.stopDeadline);
    if (o.sendTimeout !== undefined) this.setSendTimeout(o.sendTimeout);
    if (o.backendKeepAlive !== undefined) this.setBackendKeepAlive(o.backendKeepAlive);
    if (o.maxRcache !== undefined) this.setMaxRcache(o.maxRcache);
    if (o.debug !== undefined) {
      if (typeof o.debug !== 'boolean') throw codes.SKT_INVALID_OPTION('debug', o.debug, 'true or false');
      this.debug = o.debug;
    }
  }

  get state(): Phase {
    return this.phase;
  }

  private idle(action: string): void {
    if (this.phase !== 'idle') throw codes.SKT_KERNEL_PHASE(action, this.phase);
  }

  // ---- configuration -------------------------------------------------------------------

  /**
   * Adds a plugin. The `was` members it declares are claimed now (a name another plugin or
   * app owns is refused here); duplicates, dependencies and the kernel range are checked at start.
   */
  use<O>(plugin: Plugin<O>, options?: O): this {
    this.idle('use a plugin');
    this.plugins.add(plugin, options);
    if (plugin.was) this.wasRegistry.claim(plugin.was, plugin.name);
    return this;
  }

  /** Mounts a static folder, a (req, res) handler, an App, or a module / package name. */
  mount(point: string, target: MountTarget, options: MountOptions = {}): this {
    this.idle('mount');
    const claims = typeof target === 'object' && target !== null ? (target as Mountable).was : undefined;
    if (claims) this.wasRegistry.claim(claims.members, claims.owner);
    this.mounts.add(point, target, options);
    return this;
  }

  /** Idle keep-alive connections are closed after this many seconds (default 30). */
  setKeepAlive(timeout: number): this {
    this.settings.keepAliveTimeout = seconds('keep-alive timeout', timeout);
    return this;
  }

  /** A request must arrive whole (headers and body) within this many seconds (default 30). */
  setRequestTimeout(timeout: number): this {
    this.settings.requestTimeout = seconds('request timeout', timeout);
    return this;
  }

  /** Request headers must arrive within this many seconds (default 20): against slowloris. */
  setHeadersTimeout(timeout: number): this {
    this.settings.headersTimeout = seconds('headers timeout', timeout);
    return this;
  }

  /**
   * A response that makes no progress for this many seconds (the client reads nothing) closes
   * its connection (default 60, nginx's send_timeout; 0: never). It does not limit a handler
   * that takes long to answer, nor a slow reader that keeps reading.
   */
  setSendTimeout(timeout: number): this {
    this.settings.sendTimeout = seconds('send timeout', timeout);
    return this;
  }

  /** In-flight requests get this long to finish when the server stops (default 10). */
  setStopDeadline(timeout: number): this {
    this.settings.stopDeadline = seconds('stop deadline', timeout);
    return this;
  }

  /** Request bodies over this many bytes get 413 and the connection is closed (default 32 MiB). */
  setMaxClientBodySize(bytes: number): this {
    if (!Number.isInteger(bytes) || bytes < 0)
      throw codes.SKT_INVALID_OPTION('maxClientBodySize', bytes, 'a byte count');
    this.settings.maxClientBodySize = bytes;
    return this;
  }

  /** Cache-Control max-age for static files under a URL prefix (the longest prefix wins). */
  setMaxAge(prefix: string, maxAge: number): this {
    if (typeof prefix !== 'string' || !prefix.startsWith('/'))
      throw codes.SKT_INVALID_OPTION('setMaxAge prefix', prefix, 'a path starting with /');
    seconds('max-age', maxAge);
    this.maxAges.push([prefix, Math.floor(maxAge)]);
    this.maxAges.sort((a, b) => b[0].length - a[0].length);
    return this;
  }

  /** Requests matching these are not logged: '/static/' (prefix) or '*.css' (suffix). */
  logOff(...patterns: string[]): this {
    this.logOffPatterns.push(...patterns);
    return this;
  }

  /**
   * Adds `was.<name>`, built lazily once per request by `factory` (once per kernel with
   * `{ perKernel: true }`, for a value that does not depend on the request). `owner` names who
   * adds it (a plugin's name): a name that the kernel or another owner has is refused, naming both.
   */
  extendWas<T>(name: string, factory: WasFactory<T>, owner = 'the application', options?: WasMemberOptions): this {
    this.wasRegistry.define(name, factory, owner, options);
    return this;
  }

  /** Every `was` member claimed or defined by plugins and apps, with its owner. */
  wasMembers(): Map<string, string> {
    return this.wasRegistry.list();
  }

  /** The settings (timeouts in ms, sizes in bytes), for plugins; change them with the set* methods. */
  getSettings(): Readonly<KernelSettings> {
    return this.settings;
  }

  /** The per-request service object for a request. */
  createWas(req: SkitaiRequest, res: SkitaiResponse): Was {
    return new this.wasRegistry.WasClass(this, req, res);
  }

  /** The startup script's folder: relative mount paths and abspath() start here. */
  getswd(): string {
    if (this.swd === undefined) {
      const script = process.argv[1];
      let dir = process.cwd();
      if (script) {
        try {
          dir = path.dirname(fs.realpathSync(script));
        } catch {
          /* not a file: keep cwd */
        }
      }
      this.swd = dir;
    }
    return this.swd;
  }

  /** Sets the folder that relative paths are resolved against (tests, embedding). */
  setswd(dir: string): this {
    this.swd = path.resolve(dir);
    return this;
  }

  abspath(...parts: string[]): string {
    return path.resolve(this.getswd(), ...parts);
  }

  private processModelState: ProcessModel | undefined;

  /** The process model's state for this kernel: role, shared keys, messenger, background processes. */
  get processModel(): ProcessModel {
    return (this.processModelState ??= new ProcessModel(this));
  }

  /** 'single' (one process), 'master' (of workers, serves nothing) or 'worker'. */
  get processRole(): ProcessRole {
    return this.processModel.role;
  }

  /**
   * Skitai's set_worker_critical_point: a worker over `cpuPercent` of one core for `continuous`
   * intervals of `interval` seconds in a row is replaced (the new worker first). interval 0: off.
   */
  setWorkerCriticalPoint(options: CriticalPointOptions = {}): this {
    this.processModel.setCriticalPoint(options);
    return this;
  }

  /** Declares last-updated keys, shared by every worker (before run()). */
  addlu(...keys: string[]): this {
    this.processModel.lu.add(...keys);
    return this;
  }

  /** Marks a key updated now, in every worker; emits `model-changed:<key>` and `model-changed`. */
  setlu(key: string, ...args: unknown[]): number {
    return this.processModel.setlu(key, args);
  }

  /** The latest last-updated time (ms since the epoch) of the keys given. */
  getlu(...keys: string[]): number {
    return this.processModel.lu.get(...keys);
  }

  /** An event to every worker, this one included (at once here, through the master elsewhere). */
  broadcast(event: string, ...args: unknown[]): void {
    this.processModel.broadcast(event, args);
  }

  /**
   * An event to one worker ('W0', 'W1' ...; 'M' the master). False when it cannot be sent:
   * no such worker (known in the master or a single process; from a worker it goes through
   * the master, which drops it if there is no such worker).
   */
  sendTo(workerId: string, event: string, ...args: unknown[]): boolean {
    return this.processModel.sendTo(workerId, event, args);
  }

  /** Listens to broadcasts and messages sent to this process. Returns the function that stops listening. */
  onBroadcast(listener: BroadcastListener): () => void {
    return this.processModel.onBroadcast(listener);
  }

  /**
   * Sharing beyond one machine: a plugin's bridge carries this process's broadcasts and
   * `setlu`s to other instances (`@skitai/shared`). One per kernel, set before start (from a
   * plugin's apply()).
   */
  setInstanceBridge(bridge: InstanceBridge, owner = 'the application'): this {
    if (this.phase !== 'idle' && this.phase !== 'starting')
      throw codes.SKT_KERNEL_PHASE('set an instance bridge', this.phase);
    const model = this.processModel;
    if (model.bridge !== undefined) throw codes.SKT_BRIDGE_DUPLICATE(model.bridgeOwner ?? 'the application', owner);
    if (!bridge || typeof bridge.broadcast !== 'function' || typeof bridge.setlu !== 'function') {
      throw codes.SKT_INVALID_OPTION('instance bridge', typeof bridge, 'an object with broadcast() and setlu()');
    }
    model.bridge = bridge;
    model.bridgeOwner = owner;
    return this;
  }

  /** The instance bridge, when a plugin set one (state is shared with other instances). */
  get instanceBridge(): InstanceBridge | undefined {
    return this.processModelState?.bridge;
  }

  /** This server's id among instances: the same in its master and workers, new at each start of the server. */
  get instanceId(): string {
    return this.processModel.instanceId;
  }

  /** For a bridge: a broadcast another instance made, to this process's listeners (`from` names its instance). */
  receiveBroadcast(event: string, args: unknown[], from: string): void {
    this.processModel.receive(event, args, from);
  }

  /**
   * For a bridge: a `setlu(key, ...args)` another instance made (`from` names it): the time is
   * kept when later than this one's, then this process's listeners hear `model-changed:<key>`
   * and `model-changed` as for a local `setlu`. True when the time was kept.
   */
  receivelu(key: string, time: number, args: unknown[], from: string): boolean {
    return this.processModel.receivelu(key, time, args, from);
  }

  /** For a bridge: a last-updated time another instance set; kept when later than this one's. True when kept. */
  mergelu(key: string, time: number): boolean {
    return this.processModel.lu.merge(key, time);
  }

  /** Every last-updated key with its time (ms since the epoch, 0 before any set). */
  lus(): Array<[string, number]> {
    return this.processModel.lu.entries();
  }

  /**
   * A background process (a plugin's delivery agent, a scheduler): `entry` is a module run
   * once, in the master's care (or beside a single process), restarted with a backoff when it
   * dies, stopped with the server. Call it from a plugin's apply() or before run().
   */
  registerProcess(name: string, entry: string | URL, options: BackgroundProcessOptions = {}): this {
    this.processModel.register(name, entry, options);
    return this;
  }

  /**
   * Skitai's run-time preferences: `const pref = kernel.pref(); pref.debug = true;
   * pref.config.urlfile = '...'; kernel.mount('/v1', app, { pref })`. At run() (before any
   * worker starts) the app's `bootstrap(pref)` runs, then pref's properties override the app's
   * and `pref.config` is merged over `app.config`.
   */
  pref(init?: Record<string, unknown>): Pref {
    return this.processModel.pref(init);
  }

  /** A rolling restart of every worker (was.restart()). */
  restartWorkers(): void {
    this.processModel.requestRestart();
  }

  /** A graceful stop of the whole server, master included (was.shutdown()). */
  shutdownServer(): void {
    this.processModel.requestShutdown();
  }
  /**
   * A backend alias: `alias('@api', 'http', ['10.0.0.1:5000 2', 'user:pw@10.0.0.2:5000'], { role, source, ssl })`.
   * The plugin serving the type (http, https: @skitai/services; postgresql, redis, sqlite3,
   * mongodb: @skitai/db) parses the members at start; an alias of a type no plugin in use
   * serves fails at start, naming the plugin to use.
   */
  alias(name: string, type: string, members: string | readonly string[], options?: AliasOptions): this {
    this.idle('define an alias');
    this.aliases.declare(name, type, members, options);
    return this;
  }

  /** Idle backend connections older than this many seconds are reconnected (default 1200). */
  setBackendKeepAlive(timeout: number): this {
    if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout))
      throw codes.SKT_INVALID_OPTION('backend keep-alive', timeout, 'seconds over 0');
    this.settings.backendKeepAlive = timeout * 1000;
    return this;
  }

  /** Most results kept by `result.cache(seconds)` in the backend services (default 300). */
  setMaxRcache(n: number): this {
    if (!Number.isInteger(n) || n < 0) throw codes.SKT_INVALID_OPTION('max rcache', n, 'a whole number, 0 or more');
    this.settings.maxRcache = n;
    return this;
  }

  /**
   * Lets a plugin own the listening socket (TLS, HTTP/2, protocol sniffing): at start the
   * factory gets the kernel's request path and HTTP/1.1 engine and returns the server to bind.
   * One transport per kernel; set before the socket is bound (a plugin's apply() is the place).
   */
  setTransport(factory: TransportFactory, owner = 'the application'): this {
    // From a plugin's apply() or a startup tap too: what counts is that nothing is bound yet.
    if (!(this.phase === 'idle' || (this.phase === 'starting' && this.server === undefined)))
      throw codes.SKT_KERNEL_PHASE('set a transport', this.phase);
    if (this.transportFactory !== undefined) throw codes.SKT_TRANSPORT_DUPLICATE(this.transportFactory.owner, owner);
    if (typeof factory !== 'function') throw codes.SKT_INVALID_OPTION('transport', typeof factory, 'a function');
    this.transportFactory = { owner, factory };
    return this;
  }

  // ---- status and metrics ------------------------------------------------------------

  /**
   * Turns on the request counters (responses by status code, a latency histogram) for a
   * plugin that shows them; call it before the server listens (from apply() or mountTo()).
   * Without it the request path does no counting at all. Returns the counters.
   */
  enableMetrics(): RequestMetrics {
    if (this.phase !== 'idle' && this.phase !== 'starting') throw codes.SKT_KERNEL_PHASE('enable metrics', this.phase);
    return (this.requestMetrics ??= new RequestMetrics());
  }

  /** The request counters, when a plugin turned them on. */
  get metrics(): RequestMetrics | undefined {
    return this.requestMetrics;
  }

  /** Open HTTP connections of this process (tunnels given to trackTunnel() included). */
  openConnections(): number {
    return this.connections();
  }

  /**
   * Counts a socket an `upgrade` or `connect` tap took (a tunnel) as an open connection until
   * it closes: the request log's connection count shows it, and a stop waits for it as for an
   * in-flight request, up to the stop deadline, then destroys it.
   */
  trackTunnel(socket: Duplex): void {
    if (socket.destroyed || this.tunnels.has(socket)) return;
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
  }

  /**
   * Writes the request-log line of a request answered on its own socket (an upgrade or a
   * CONNECT a tap took): `status` as answered, `bytes` the body bytes sent (for a tunnel, what
   * went to the client through it). Nothing when no request log is kept.
   */
  logRequest(req: SkitaiRequest, status: number, bytes = 0): void {
    if (this.requestLog !== undefined) logSocketRequest(this.requestLog, req, status, bytes);
  }

  /**
   * Every process's state, for a status page: asked of the master, which asks each worker
   * and background process (each runs its `status` taps) and waits up to 2 s for answers.
   */
  async collectStatus(): Promise<ServerStatus> {
    const model = this.processModel;
    let processes: ProcessReport[];
    if (model.transport !== undefined) processes = await model.transport.gather();
    else processes = [await localReport(this, this.workerId, 'single'), ...((await model.background?.reports()) ?? [])];
    return {
      kernel: this.version,
      generatedAt: Date.now(),
      script: process.argv[1] ? path.basename(process.argv[1]) : '',
      plugins: this.plugins.list().map((p) => ({ name: p.name, version: p.version })),
      mounts: this.mounts.entries.map((e) => ({
        point: e.point || '/',
        ...(e.host ? { host: e.host } : {}),
        kind: e.kind,
        target: describeTarget(e),
      })),
      processes,
    };
  }

  // ---- lifecycle ---------------------------------------------------------------------

  /** Applies plugins, resolves mounts, binds and listens. Resolves with the bound address. */
  async start(options: StartOptions = {}): Promise<Listening> {
    checkOptionKeys('start()', options, Object.keys(START_KEYS));
    this.idle('start');
    this.phase = 'starting';
    try {
      // A worker never renames the shared files: its master rotates them and tells it to reopen.
      this.logs = new Logs({
        logpath: options.logpath,
        verbose: options.verbose,
        rotation: this.processRole === 'worker' ? 'never' : 'self',
      });
      setServerHeader(`Skitai/${this.version}`);
      keepTickShape();
      await this.plugins.applyAll(this, this.version);
      this.aliases.check();
      // A hook with no taps is not called: tapable compiles each hook's caller on first call.
      if (this.hooks.startup.isUsed()) await this.hooks.startup.promise(this);
      for (const entry of this.mounts.entries) await this.attach(entry);
      this.mounts.joinPairs();
      if (this.hooks.mounted.isUsed()) await this.hooks.mounted.promise(this);
      const listening = await this.listen(options);
      this.phase = 'running';
      const scheme = listening.scheme;
      this.logs.log(
        'server',
        'info',
        `skitai ${this.version} (${this.workerId}) listening on ${scheme}://${listening.address}:${listening.port}`,
      );
      // With the logs in files the console would say nothing: say where to look.
      if (this.logs.logpath !== undefined && !options.verbose && this.workerId === 'M') {
        process.stderr.write(
          `skitai ${this.version}: listening on ${scheme}://${listening.address}:${listening.port}; logs in ${this.logs.logpath}\n`,
        );
      }
      if (this.hooks.listening.isUsed()) await this.hooks.listening.promise({ ...listening, workerId: this.workerId });
      return listening;
    } catch (err) {
      this.phase = 'stopped';
      if (this.server?.listening) this.server.close();
      if (this.transport?.server.listening) this.transport.server.close();
      await this.logs.close();
      throw err;
    }
  }

  private async attach(entry: MountEntry): Promise<void> {
    const resolved = await resolveMountTarget(
      entry,
      this.getswd(),
      this.hooks.resolveMount.isUsed() ? this.hooks.resolveMount : undefined,
    );
    let handler: RequestHandler;
    if (resolved.kind === 'static') {
      entry.kind = 'static';
      entry.root = resolved.root;
      const maxAges = this.maxAges;
      handler = createStaticHandler(resolved.root, {
        maxAge: maxAges.length === 0 ? undefined : (urlPath) => maxAges.find(([p]) => urlPath.startsWith(p))?.[1],
      }) as RequestHandler;
    } else if (resolved.kind === 'handler') {
      const inner = resolved.handler;
      const server = getServerHeader();
      // Express swaps the response's prototype, which loses SkitaiResponse.writeHead (and its
      // Server header): set Server up front for it. Other handlers keep node's fast writeHead.
      const app = inner as { handle?: unknown; set?: unknown };
      const swapsPrototype = typeof app.handle === 'function' && typeof app.set === 'function';
      const compress = entry.options.compress !== false;
      // The kernel cannot see inside a foreign handler's writes: gzip is decided at its head.
      handler = (req, res, next) => {
        if (swapsPrototype) {
          // HTTP/2 (node's compatibility API): keep its request and response working under Express's prototypes.
          if (req.httpVersionMajor === 2) pinPrototype(req, res);
          res.setHeader('Server', server);
        }
        if (compress && acceptsGzip(req)) compressResponse(req, res);
        return inner(req, res, next);
      };
    } else {
      handler = await resolved.mountable.mountTo(this, entry);
    }
    entry.handler = this.hooks.wrapHandler.isUsed() ? this.hooks.wrapHandler.call(handler, entry) : handler;
  }

  private listen(options: StartOptions): Promise<Listening> {
    const { server, connections: http1Connections, untrack } = createHttpServer(this.settings);
    const tunnels = this.tunnels;
    let connections = () => http1Connections() + tunnels.size;
    // The log counts open connections through this, whichever transport holds them.
    const countConnections = () => connections();
    this.connections = countConnections;
    const log: RequestLogContext | undefined =
      this.logs.request === undefined
        ? undefined
        : {
            sink: this.logs.request,
            workerId: this.workerId,
            connections: countConnections,
            offPrefixes: this.logOffPatterns.filter((p) => !p.startsWith('*')),
            offSuffixes: this.logOffPatterns.filter((p) => p.startsWith('*')).map((p) => p.slice(1)),
            onLogged: this.hooks.responseLogged.isUsed()
              ? (record) => this.hooks.responseLogged.call(record)
              : undefined,
          };
    this.requestLog = log;
    const dispatch = createDispatcher({
      mounts: this.mounts,
      hooks: this.hooks,
      maxClientBodySize: this.settings.maxClientBodySize,
      log,
      metrics: this.requestMetrics,
      stopping: () => this.phase === 'stopping',
      onError: (err, req, res) => this.handlerFailed(err, req, res),
    });
    const checkContinue = (req: SkitaiRequest, res: SkitaiResponse) => {
      // Decide before the client sends the body: 413 now, or 100 Continue and go on.
      if (Number(req.headers['content-length'] ?? 0) > this.settings.maxClientBodySize) {
        refuseLargeBody(req, res, this.settings.maxClientBodySize);
        return;
      }
      res.writeContinue();
      dispatch(req, res);
    };
    server.on('request', dispatch);
    server.on('checkContinue', checkContinue);
    server.on('upgrade', (req: SkitaiRequest, socket: Socket, head: Buffer) =>
      this.upgrade(req, socket, head, untrack),
    );
    server.on('connect', (req: SkitaiRequest, socket: Socket, head: Buffer) =>
      this.connect(req, socket, head, untrack),
    );
    this.server = server;
    let listener: net.Server = server;
    if (this.transportFactory !== undefined) {
      const transport = this.transportFactory.factory({
        dispatch: dispatch as any,
        checkContinue: checkContinue as any,
        serveHttp1: (socket) => {
          server.emit('connection', socket);
        },
        http1: server,
        http1Connections,
        settings: this.settings,
        stopping: () => this.phase === 'stopping',
        logs: this.logs,
      });
      this.transport = transport;
      listener = transport.server;
      connections = () => http1Connections() + tunnels.size + transport.connections();
      // node:http starts its timeout checks and connection list on 'listening': the HTTP/1.1
      // server serves the transport's connections without binding a socket of its own.
      listener.once('listening', () => server.emit('listening'));
    }
    const address = options.address ?? '0.0.0.0';
    const port = options.port ?? 5000;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          codes.SKT_LISTEN_FAILED(
            `${address}:${port}`,
            err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message,
          ),
        );
      };
      listener.once('error', onError);
      listener.listen({ host: address, port }, () => {
        listener.off('error', onError);
        listener.on('error', (err) => this.logs.log('server', 'error', `server error: ${err.message}`));
        const bound = listener.address() as AddressInfo;
        resolve({ address: bound.address, port: bound.port, scheme: this.transport?.scheme ?? 'http' });
      });
    });
  }

  private upgrade(req: SkitaiRequest, socket: Socket, head: Buffer, untrack: (s: Socket) => void): void {
    // node takes its own error listener off an upgraded socket: without one, a client that
    // resets while we write a refusal (EPIPE, ECONNRESET) would be an uncaught 'error'.
    socket.on('error', ignoreSocketError);
    // The send timeout was for HTTP: whoever takes the socket times it as they see fit.
    socket.setTimeout(0);
    req.originalUrl = req.url!;
    if (this.requestLog !== undefined) req.startedAt = clockMs();
    const refuse = (status: string) => {
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status}\r\nDate: ${new Date().toUTCString()}\r\nServer: ${getServerHeader()}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
        );
      }
      socket.destroySoon();
      this.logRequest(req, Number.parseInt(status, 10));
    };
    if (this.phase !== 'running') return refuse('503 Service Unavailable');
    const refusal = requestError(req);
    if (refusal !== undefined) return refuse(`${refusal.status} ${reason(refusal.status)}`);
    let taken: boolean | void;
    try {
      taken = this.hooks.upgrade.isUsed() ? this.hooks.upgrade.call(req, socket, head) : undefined;
    } catch (err) {
      this.logs.log('server', 'error', `upgrade failed: ${(err as Error).stack ?? err}`);
      return refuse('500 Internal Server Error');
    }
    if (taken === true) untrack(socket);
    else refuse('404 Not Found');
  }

  /** CONNECT: handed to a `connect` tap (the gateway's forward proxy), refused otherwise. */
  private connect(req: SkitaiRequest, socket: Socket, head: Buffer, untrack: (s: Socket) => void): void {
    // As for upgrades: an error listener before anything is written, no HTTP send timeout.
    socket.on('error', ignoreSocketError);
    socket.setTimeout(0);
    req.originalUrl = req.url!;
    if (this.requestLog !== undefined) req.startedAt = clockMs();
    const refuse = (status: string) => {
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status}\r\nDate: ${new Date().toUTCString()}\r\nServer: ${getServerHeader()}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
        );
      }
      socket.destroySoon();
      this.logRequest(req, Number.parseInt(status, 10));
    };
    if (this.phase !== 'running') return refuse('503 Service Unavailable');
    // The smuggling checks of requestError (its target rules are for paths and URLs, not host:port).
    if (req.headers['content-length'] !== undefined && req.headers['transfer-encoding'] !== undefined)
      return refuse('400 Bad Request');
    let hosts = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      if (req.rawHeaders[i]!.toLowerCase() === 'host' && ++hosts > 1) return refuse('400 Bad Request');
    let taken: boolean | void;
    try {
      taken = this.hooks.connect.isUsed() ? this.hooks.connect.call(req, socket, head) : undefined;
    } catch (err) {
      this.logs.log('server', 'error', `CONNECT failed: ${(err as Error).stack ?? err}`);
      return refuse('500 Internal Server Error');
    }
    if (taken === true) untrack(socket);
    else refuse('405 Method Not Allowed');
  }

  private handlerFailed(err: unknown, req: SkitaiRequest, res: SkitaiResponse): void {
    const error = err instanceof Error ? err : new Error(String(err));
    const status = error instanceof SkitaiError && error.statusCode ? error.statusCode : 500;
    if (status >= 500)
      this.logs.log('app', 'error', `${req.method} ${req.originalUrl}: ${error.stack ?? error.message}`);
    sendError(
      req,
      res,
      status,
      status >= 500 ? 'the server failed to answer this request' : error.message,
      this.debug && status >= 500 ? { detail: error.stack } : {},
    );
  }

  /** Runs the `reload` tap point (SIGHUP in the process model). */
  async reload(): Promise<void> {
    await this.hooks.reload.promise(this);
  }

  /**
   * Graceful stop: stop accepting, finish in-flight requests, close idle keep-alive
   * connections, destroy what is left after the deadline; then unmount apps and run the
   * shutdown taps in reverse order.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.phase === 'idle' || this.phase === 'stopped') {
      this.phase = 'stopped';
      return Promise.resolve();
    }
    this.phase = 'stopping';
    this.stopping = (async () => {
      if (this.server) {
        const { forced } = await drainServer(
          this.server,
          this.connections,
          this.settings.stopDeadline,
          this.transport,
          () => {
            for (const socket of this.tunnels) socket.destroy();
          },
        );
        if (forced) this.logs.log('server', 'warn', 'stop deadline passed: remaining connections were closed');
      }
      for (const entry of [...this.mounts.entries].reverse()) {
        const target = entry.target as { umount?: (k: Kernel, e: MountEntry) => unknown };
        if (entry.kind === 'mountable' && typeof target.umount === 'function') {
          try {
            await target.umount(this, entry);
          } catch (err) {
            this.logs.log('app', 'error', `umount ${entry.point || '/'} failed: ${(err as Error).message}`);
          }
        }
      }
      await this.hooks.shutdown.promise(this);
      this.logs.log('server', 'info', 'stopped');
      this.phase = 'stopped';
      await this.logs.close();
    })();
    return this.stopping;
  }

  /**
   * The startup script's entry: reads -v, --port, --workers and the daemon verbs from the
   * command line (`argv`: process.argv by default, a list, or false for none), makes the
   * script's folder the working directory, starts, and stops gracefully on SIGTERM/SIGINT.
   */
  async run(options: RunOptions = {}): Promise<Listening | undefined> {
    checkOptionKeys('run()', options, Object.keys(RUN_KEYS));
    const argv = options.argv ?? true;
    let cli: CommandLine;
    if (argv === true) {
      try {
        cli = parseCommandLine(process.argv.slice(2));
      } catch (err) {
        // The process's own command line: say so and exit, as a command does.
        process.stderr.write(`skitai: ${(err as Error).message}\n`);
        process.exit(2);
      }
    } else if (argv === false) {
      cli = { verbose: false, port: undefined, workers: undefined, verb: undefined, rest: [] };
    } else if (Array.isArray(argv) && argv.every((a) => typeof a === 'string')) {
      // A list from the embedding app: a bad value is its error to handle, not an exit.
      try {
        cli = parseCommandLine([...argv]);
      } catch (err) {
        throw codes.SKT_INVALID_OPTION('run() argv', argv, (err as Error).message);
      }
    } else {
      throw codes.SKT_INVALID_OPTION('run() argv', argv, 'true, false or a list of strings');
    }
    // Workers, the master and the daemon verbs: loaded only by run(), not by start().
    {
      const { runProcessModel } = await import('./process/run.js');
      const pm = await runProcessModel(this, options, cli);
      if (pm.handled) return pm.listening;
    }
    process.chdir(this.getswd());
    const script = process.argv[1] ? path.basename(process.argv[1]) : 'skitai';
    process.title = `skitai(${script})`;
    let listening: Listening;
    try {
      listening = await this.start({
        address: options.address,
        port: cli.port ?? options.port,
        logpath: options.logpath ? this.abspath(options.logpath) : undefined,
        verbose: cli.verbose || options.verbose,
      });
    } catch (err) {
      process.stderr.write(`skitai: cannot start: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return undefined;
    }
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) process.exit(1);
      this.logs.log('server', 'info', `${signal}: stopping gracefully`);
      this.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    return listening;
  }
}
