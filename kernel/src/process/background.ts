import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RestartPolicy } from './restart-policy.js';
import { scriptName } from './title.js';
import {
  isReport,
  noAnswer,
  processNumbers,
  StatusRequests,
  type ProcessReport,
  type StatusSection,
} from './status.js';
import process from 'node:process';

/** How a background process (a plugin's delivery agent, a scheduler) is run. */
export interface BackgroundProcessOptions {
  /** Command-line arguments for the entry module. */
  args?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Passed to the process as JSON; read it with `backgroundProcess().options`. */
  options?: unknown;
  /** Node options for the child (default: the server's own execArgv). */
  execArgv?: string[];
  /** First restart delay in seconds (default 1); doubles on each death, up to `maxRestartDelay`. */
  restartDelay?: number;
  /** Largest restart delay in seconds (default 60). */
  maxRestartDelay?: number;
  /** Seconds between SIGTERM and SIGKILL when the server stops (default 5). */
  stopTimeout?: number;
}

export interface BackgroundProcessSpec {
  name: string;
  entry: string;
  options: BackgroundProcessOptions;
}

export type ProcessLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export function resolveEntry(entry: string | URL, base: string): string {
  if (entry instanceof URL) return fileURLToPath(entry);
  if (entry.startsWith('file:')) return fileURLToPath(entry);
  return path.resolve(base, entry);
}

/**
 * Runs one background process in the master's care: started once, restarted with a backoff
 * when it dies, stopped (SIGTERM, then SIGKILL after stopTimeout) with the server.
 */
export class BackgroundProcess {
  child: ChildProcess | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly policy: RestartPolicy;
  private startedAt = 0;
  /** Starts so far (the first one included). */
  starts = 0;

  /** Why it was last started again. */
  lastRestart: { at: number; reason: string } | undefined;

  constructor(
    readonly spec: BackgroundProcessSpec,
    private readonly log: ProcessLog,
    private readonly statusRequests?: StatusRequests,
  ) {
    this.policy = new RestartPolicy({
      baseDelay: (spec.options.restartDelay ?? 1) * 1000,
      maxDelay: (spec.options.maxRestartDelay ?? 60) * 1000,
      limit: Number.POSITIVE_INFINITY,
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.stopped || this.child) return;
    const { name, entry, options } = this.spec;
    this.starts++;
    this.startedAt = Date.now();
    // node:child_process when a process is started, not at import.
    const child = process.getBuiltinModule('node:child_process').fork(entry, options.args ?? [], {
      env: {
        ...process.env,
        ...options.env,
        SKITAI_PROCESS_NAME: name,
        SKITAI_PROCESS_TITLE: `skitai(${scriptName()}): ${name}`,
        SKITAI_PROCESS_OPTIONS: JSON.stringify(options.options ?? null),
        SKITAI_WORKER_SLOT: '',
      },
      execArgv: options.execArgv ?? process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    child.on('error', (err) => this.log('error', `background process ${name}: ${err.message}`));
    child.on('message', (msg: { skitai?: string; id?: unknown; report?: unknown }) => {
      if (msg?.skitai === 'status-report' && isReport(msg.report))
        this.statusRequests?.answer(msg.id, name, msg.report);
    });
    child.once('exit', (code, signal) => {
      this.child = undefined;
      if (this.stopped) return;
      // A process that ran a good while starts again quickly.
      if (Date.now() - this.startedAt > 60_000) this.policy.reset();
      const { delay } = this.policy.died();
      this.lastRestart = { at: Date.now(), reason: `exited (${signal ?? `code ${code}`})` };
      this.log(
        'warn',
        `background process ${name} (pid ${child.pid}) exited (${signal ?? `code ${code}`}): restarting in ${(delay / 1000).toFixed(1)} s`,
      );
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.start();
      }, delay);
    });
    this.log('info', `background process ${name} started (pid ${child.pid})`);
  }

  /** SIGTERM, then SIGKILL after stopTimeout; resolves once it has exited. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(
        () => {
          this.log('warn', `background process ${this.spec.name} did not stop in time: killed`);
          child.kill('SIGKILL');
        },
        (this.spec.options.stopTimeout ?? 5) * 1000,
      );
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

/** Runs every registered background process; stops them together. */
export class BackgroundProcesses {
  readonly running = new Map<string, BackgroundProcess>();
  private readonly statusRequests = new StatusRequests();
  constructor(private readonly log: ProcessLog) {}

  /** Each running process's status report (its numbers and sections), asked over IPC. */
  async reports(): Promise<ProcessReport[]> {
    const procs = [...this.running.values()].filter((p) => p.child?.connected);
    const got = await this.statusRequests.collect(
      procs.map((p) => ({
        key: p.spec.name,
        ask: (id: number) => {
          p.child!.send({ skitai: 'status-collect', id });
        },
      })),
    );
    return procs.map((p) => {
      const report = (got.get(p.spec.name) as ProcessReport | undefined) ?? noAnswer(p.spec.name, 'background', p.pid);
      report.restarts = p.starts - 1;
      if (p.lastRestart) report.lastRestart = p.lastRestart;
      return report;
    });
  }

  start(spec: BackgroundProcessSpec): void {
    if (this.running.has(spec.name)) return;
    const proc = new BackgroundProcess(spec, this.log, this.statusRequests);
    this.running.set(spec.name, proc);
    proc.start();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((p) => p.stop()));
  }
}

export interface BackgroundContext {
  /** The name it was registered with. */
  name: string;
  /** The `options` given at registration (a JSON copy). */
  options: unknown;
  /** Runs `fn` (once) when the server stops this process or the master goes away; then exits. */
  onStop(fn: () => void | Promise<void>): void;
  /** Gives this process's sections to the server's status page (the latest function given wins). */
  onStatus(fn: () => StatusSection[] | Promise<StatusSection[]>): void;
}

let context: BackgroundContext | undefined;

/**
 * In a background process's entry module: its name and options, the process title, and a
 * clean exit on SIGTERM or when the master is gone.
 */
export function backgroundProcess(): BackgroundContext {
  if (context) return context;
  const name = process.env.SKITAI_PROCESS_NAME ?? path.basename(process.argv[1] ?? 'process');
  if (process.env.SKITAI_PROCESS_TITLE) {
    try {
      process.title = process.env.SKITAI_PROCESS_TITLE;
    } catch {
      /* cosmetic */
    }
  }
  let options: unknown = null;
  try {
    options = JSON.parse(process.env.SKITAI_PROCESS_OPTIONS ?? 'null');
  } catch {
    /* none */
  }
  const stoppers: Array<() => void | Promise<void>> = [];
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // async: a stopper that throws is a rejection like any other, and the rest still run.
    void Promise.allSettled(stoppers.map(async (fn) => fn())).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  // Ctrl-C reaches the whole process group: the master decides when this process stops.
  process.on('SIGINT', () => {});
  process.on('disconnect', stop);
  let sections: () => StatusSection[] | Promise<StatusSection[]> = () => [];
  // The master asks for a status report only when a status page is read.
  process.on('message', (msg: { skitai?: string; id?: unknown }) => {
    if (msg?.skitai !== 'status-collect') return;
    // Both outcomes are answered; send()'s own errors go to its callback.
    void Promise.resolve()
      .then(sections)
      .then(
        (list) => processNumbers(name, 'background', Array.isArray(list) ? list : []),
        (err) => ({
          ...processNumbers(name, 'background', []),
          error: `status failed: ${(err as Error)?.message ?? err}`,
        }),
      )
      .then((report) => {
        if (process.connected)
          process.send!({ skitai: 'status-report', id: msg.id, report }, undefined, undefined, () => {
            /* gone */
          });
      });
  });
  context = {
    name,
    options,
    onStop: (fn) => {
      stoppers.push(fn);
    },
    onStatus: (fn) => {
      sections = fn;
    },
  };
  return context;
}
