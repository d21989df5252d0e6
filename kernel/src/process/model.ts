import type { Cluster } from 'node:cluster';
import type { Kernel } from '../kernel.js';
import { codes } from '../errors.js';
import { LuStore } from './lu.js';
import { Pref, applyPrefs } from './pref.js';
import type { ProcessReport } from './status.js';
import { newInstanceId, type InstanceBridge } from './bridge.js';
import {
  BackgroundProcesses,
  resolveEntry,
  type BackgroundProcessOptions,
  type BackgroundProcessSpec,
} from './background.js';
import process from 'node:process';

/** Which part this process plays: one process alone, the master of workers, or a worker. */
export type ProcessRole = 'single' | 'master' | 'worker';

/** Skitai's set_worker_critical_point: replace a worker whose CPU stays over a threshold. */
export interface CriticalPointOptions {
  /** CPU use of one worker, in percent of one core (default 90). */
  cpuPercent?: number;
  /** Intervals in a row over the threshold before the worker is replaced (default 3). */
  continuous?: number;
  /** Seconds between measurements (default 20); 0 turns the feature off. */
  interval?: number;
  /** Seconds after a replacement during which the replaced slot is not measured again (default interval * continuous). */
  cooldown?: number;
}

export interface CriticalPoint {
  cpuPercent: number;
  continuous: number;
  interval: number;
  cooldown: number;
}

/** Receives broadcasts and messages sent to this worker: (event, args, from worker id). */
export type BroadcastListener = (event: string, args: unknown[], from: string) => void;

/** What the master and worker runtimes plug in to carry messages across processes. */
export interface Transport {
  broadcast(event: string, args: unknown[], from: string): void;
  send(to: string, event: string, args: unknown[], from: string): boolean;
  restart(): void;
  shutdown(): void;
  /** Every process's status report (asked of the master; the master asks the others). */
  gather(): Promise<ProcessReport[]>;
}

// node:cluster (and the dgram and child_process modules it loads) only where our own worker
// variables are set: a single process never loads it.
const inWorker = (variable: string): boolean =>
  process.env[variable] !== undefined && (process.getBuiltinModule('node:cluster') as unknown as Cluster).isWorker;

/**
 * The process model's state held by one Kernel: role, last-updated keys, the critical
 * point, background processes registered by plugins, and the messenger's listeners.
 */
export class ProcessModel {
  role: ProcessRole = inWorker('SKITAI_WORKER_SLOT') && process.env.SKITAI_WORKER_SLOT ? 'worker' : 'single';
  readonly lu = new LuStore();
  criticalPoint: CriticalPoint | undefined;
  readonly processes = new Map<string, BackgroundProcessSpec>();
  /** Set by the master runtime (the master), or for a single process at `listening`. */
  background: BackgroundProcesses | undefined;
  transport: Transport | undefined;
  /** Carries broadcasts and last-updated keys to other instances (set by a plugin). */
  bridge: InstanceBridge | undefined;
  bridgeOwner: string | undefined;
  /** The server's id among instances: the master's, handed to its workers. */
  instanceId: string = (inWorker('SKITAI_INSTANCE_ID') && process.env.SKITAI_INSTANCE_ID) || newInstanceId();
  private readonly listeners = new Set<BroadcastListener>();
  private singleTapped = false;

  constructor(private readonly kernel: Kernel) {}

  setCriticalPoint(options: CriticalPointOptions = {}): void {
    const cpuPercent = options.cpuPercent ?? 90;
    const continuous = options.continuous ?? 3;
    const interval = options.interval ?? 20;
    if (!(cpuPercent > 0)) throw codes.SKT_INVALID_OPTION('cpuPercent', cpuPercent, 'a percentage over 0');
    if (!Number.isInteger(continuous) || continuous < 1)
      throw codes.SKT_INVALID_OPTION('continuous', continuous, 'a whole number, 1 or more');
    if (typeof interval !== 'number' || !(interval >= 0))
      throw codes.SKT_INVALID_OPTION('interval', interval, 'seconds, 0 (off) or more');
    const cooldown = options.cooldown ?? interval * continuous;
    if (typeof cooldown !== 'number' || !(cooldown >= 0))
      throw codes.SKT_INVALID_OPTION('cooldown', cooldown, 'seconds, 0 or more');
    this.criticalPoint = interval === 0 ? undefined : { cpuPercent, continuous, interval, cooldown };
  }

  get selfId(): string {
    return this.kernel.workerId;
  }

  // ---- messenger ---------------------------------------------------------------------------

  onBroadcast(listener: BroadcastListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Delivers to this process's listeners (a listener that throws is logged, not fatal). */
  deliver(event: string, args: unknown[], from: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event, args, from);
      } catch (err) {
        this.kernel.logs.log('app', 'error', `broadcast listener for ${event} failed: ${(err as Error).stack ?? err}`);
      }
    }
  }

  /** To every worker, this one included (here at once, elsewhere through the master). */
  broadcast(event: string, args: unknown[]): void {
    if (typeof event !== 'string' || event === '')
      throw codes.SKT_INVALID_OPTION('broadcast event', event, 'a non-empty string');
    const from = this.selfId;
    this.withinInstance(event, args, from);
    this.bridge?.broadcast(event, args, from);
  }

  /** To this instance's processes: here at once, the other workers through the master. */
  private withinInstance(event: string, args: unknown[], from: string): void {
    if (this.role !== 'master') this.deliver(event, args, from);
    this.transport?.broadcast(event, args, from);
  }

  /**
   * A broadcast from another instance: to this process's listeners only (each process of that
   * instance gets it from the bridge itself). `from` is qualified by its instance (`<id>/W0`).
   */
  receive(event: string, args: unknown[], from: string): void {
    this.deliver(event, args, from);
  }

  /** To one worker by id ('W0', 'W1' ... or 'M' for the master). False when there is no such worker. */
  sendTo(to: string, event: string, args: unknown[]): boolean {
    const from = this.selfId;
    if (to === from) {
      this.deliver(event, args, from);
      return true;
    }
    return this.transport?.send(to, event, args, from) ?? false;
  }

  setlu(key: string, args: unknown[]): number {
    const time = this.lu.set(key);
    const from = this.selfId;
    // One message to the other instances carries the time and both events (receivelu there):
    // nothing of it waits for a second message.
    this.bridge?.setlu(key, time, args, from);
    this.withinInstance(`model-changed:${key}`, args, from);
    this.withinInstance('model-changed', [key, ...args], from);
    return time;
  }

  /**
   * A `setlu` of another instance: the time is taken when later than the one here, then this
   * process's listeners hear `model-changed:<key>` and `model-changed`, as they would for a
   * `setlu` made here. True when the time was taken.
   */
  receivelu(key: string, time: number, args: unknown[], from: string): boolean {
    const taken = this.lu.merge(key, time);
    this.deliver(`model-changed:${key}`, args, from);
    this.deliver('model-changed', [key, ...args], from);
    return taken;
  }

  // ---- background processes ------------------------------------------------------------------

  register(name: string, entry: string | URL, options: BackgroundProcessOptions = {}): void {
    if (typeof name !== 'string' || name === '')
      throw codes.SKT_INVALID_OPTION('process name', name, 'a non-empty string');
    if (this.processes.has(name)) throw codes.SKT_PROCESS_DUPLICATE(name);
    if (!(entry instanceof URL) && (typeof entry !== 'string' || entry === '')) {
      throw codes.SKT_INVALID_OPTION(`process ${name} entry`, entry, 'a module path or file: URL');
    }
    const spec: BackgroundProcessSpec = { name, entry: resolveEntry(entry, this.kernel.getswd()), options };
    this.processes.set(name, spec);
    if (this.role === 'master' && this.background) this.background.start(spec);
    else if (this.role === 'single') this.runAlone(spec);
    // In a worker: recorded only, the master runs it.
  }

  /** A single process is its own master: its background processes run from listening to shutdown. */
  private runAlone(spec: BackgroundProcessSpec): void {
    const kernel = this.kernel;
    const log = (level: 'info' | 'warn' | 'error', message: string) => kernel.logs.log('server', level, message);
    if (!this.background) this.background = new BackgroundProcesses(log);
    if (kernel.state === 'running') {
      this.background.start(spec);
      return;
    }
    if (this.singleTapped) return;
    this.singleTapped = true;
    kernel.hooks.listening.tapPromise('skitai:background-processes', async () => {
      for (const s of this.processes.values()) this.background!.start(s);
    });
    kernel.hooks.shutdown.tapPromise('skitai:background-processes', async () => {
      await this.background?.stopAll();
    });
  }

  // ---- run-time preferences -------------------------------------------------------------------

  private prefTapped = false;

  /** A new Pref; mounts given one have it applied at run() (or at start, for kernel.start()). */
  pref(init?: Record<string, unknown>): Pref {
    if (!this.prefTapped) {
      this.prefTapped = true;
      // kernel.start() without run(): apply before the mounts attach.
      this.kernel.hooks.startup.tapPromise('skitai:pref', () => applyPrefs(this.kernel));
    }
    return new Pref(init);
  }

  // ---- restart and shutdown from a handler -----------------------------------------------------

  requestRestart(): void {
    if (this.transport) return this.transport.restart();
    this.kernel.logs.log(
      'server',
      'warn',
      'restart asked for in a single process: running the reload taps (a rolling restart needs workers)',
    );
    this.kernel
      .reload()
      .catch((err) => this.kernel.logs.log('server', 'error', `reload failed: ${(err as Error).message}`));
  }

  requestShutdown(): void {
    if (this.transport) return this.transport.shutdown();
    process.kill(process.pid, 'SIGTERM');
  }
}
