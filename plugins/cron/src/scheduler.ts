// The scheduler: one croner timer a job, one run of a job at a time, a log line when a run
// starts, when it ends (start time, pid, exit code, duration) and when a due run is skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { EventEmitter } from 'node:events';
import { Cron } from 'croner';
import { cronOptions, describeJob, jobTarget, type Job, type ModuleFunction } from './jobs.js';
import type { CronLog, CronLogLevel } from './log.js';
import process from 'node:process';

/** What a function job receives. */
export interface JobContext {
  /** The job's name (`#<n>` or the name given). */
  name: string;
  spec: string;
  /** When this run started. */
  startedAt: Date;
  /** The time it was due (a whole second of the spec). */
  scheduledAt: Date;
  /** The `args` given with the job. */
  args: unknown;
  /** Aborted when the scheduler stops: long jobs should give up then. */
  signal: AbortSignal;
  /** A line in the cron log, prefixed with the job's name. */
  log(message: string, level?: CronLogLevel): void;
}

/** The outcome of one run, as logged. */
export interface RunRecord {
  job: string;
  /** The shell's pid for a command, the scheduler's for a function. */
  pid: number;
  startedAt: Date;
  /** 0 done; a command's exit code; 1 for a function that threw; null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  error?: string;
}

export interface SchedulerOptions {
  log: CronLog;
  /** Working folder of commands and of relative paths. */
  cwd: string;
  /** Default IANA time zone of the specs (default: the process's, i.e. TZ or the system's). */
  timezone?: string;
  /** Accept six-field specs whose first field is seconds. */
  seconds?: boolean;
  /** Environment of the commands (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /**
   * A lock shared by several schedulers (several machines): called before each run with
   * LockRequest; the run happens only when it resolves true. See the README (Redis).
   */
  lock?: ModuleFunction;
}

/** What the lock function receives; the run goes ahead only if it returns (or resolves) true. */
export interface LockRequest {
  job: string;
  spec: string;
  /** The time the run was due: the same on every machine, so the key of the lock. */
  scheduledAt: Date;
  host: string;
  pid: number;
  /** The lock's own `args`. */
  args: unknown;
}

/**
 * A lock held for the run: the run goes ahead, and `release()` is called when it ends (a lock
 * with an owner, released by that owner only).
 */
export interface HeldLock {
  release(): unknown;
}

export type LockFunction = (request: LockRequest) => boolean | HeldLock | Promise<boolean | HeldLock>;

interface Running {
  pid: number;
  startedAt: number;
  child?: ChildProcess;
  abort?: AbortController;
  done: Promise<void>;
}

interface JobState {
  job: Job;
  cron?: Cron;
  running?: Running;
  /** Waiting for the lock. */
  acquiring?: boolean;
  /** The lock the current run holds, released when it ends. */
  held?: HeldLock;
  /** The due time of the last firing (ms): a timer that fires twice for it runs once. */
  lastDue?: number;
  runs: number;
  skipped: number;
  failed: number;
}

export interface JobStatus {
  name: string;
  spec: string;
  target: string;
  runs: number;
  skipped: number;
  failed: number;
  running: boolean;
  nextRun: Date | null;
}

/**
 * Schedules jobs on croner. Events: 'start' (job, pid, startedAt), 'run' (RunRecord),
 * 'skip' (job name, the pid still running), 'locked' (job name, scheduledAt: another
 * scheduler has this run).
 */
export class Scheduler extends EventEmitter {
  private readonly states: JobState[];
  private stopped = false;
  private started = false;

  constructor(
    jobs: readonly Job[],
    private readonly options: SchedulerOptions,
  ) {
    super();
    this.states = jobs.map((job) => ({ job, runs: 0, skipped: 0, failed: 0 }));
  }

  private log(level: CronLogLevel, message: string): void {
    this.options.log.log(level, `cron: ${message}`);
  }

  /** Creates the timers. Throws (croner's message, naming the job) on a bad spec. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const zone = this.options.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    this.log(
      'info',
      `scheduler started (pid ${process.pid}): ${this.states.length} job${this.states.length === 1 ? '' : 's'}, time zone ${zone}`,
    );
    for (const state of this.states) {
      try {
        state.cron = new Cron(state.job.spec, cronOptions(state.job, this.options), () => this.due(state));
      } catch (err) {
        this.stopTimers();
        throw new Error(`cron job ${describeJob(state.job)}: bad spec: ${(err as Error).message}`, { cause: err });
      }
      const next = state.cron.nextRun();
      this.log(
        'info',
        `job ${state.job.name} scheduled: ${state.job.spec} ${jobTarget(state.job)} (next ${next?.toISOString() ?? 'never'})`,
      );
    }
  }

  status(): JobStatus[] {
    return this.states.map((s) => ({
      name: s.job.name,
      spec: s.job.spec,
      target: jobTarget(s.job),
      runs: s.runs,
      skipped: s.skipped,
      failed: s.failed,
      running: s.running !== undefined,
      nextRun: s.cron?.nextRun() ?? null,
    }));
  }

  /**
   * The time this firing was due: the latest time the spec matches, up to now (plus a little,
   * should a timer fire early). The same on every machine, whatever each one's delay.
   */
  private dueTime(state: JobState, now: number): Date {
    try {
      const [prev] = state.cron?.previousRuns(1, new Date(now + 50)) ?? [];
      if (prev && now - prev.getTime() < 3_600_000) return prev;
    } catch {
      /* fall back to the second */
    }
    return new Date(Math.floor(now / 1000) * 1000);
  }

  private due(state: JobState): void {
    if (this.stopped) return;
    const { job } = state;
    const now = Date.now();
    const scheduledAt = this.dueTime(state, now);
    if (state.lastDue !== undefined && scheduledAt.getTime() <= state.lastDue) {
      this.log(
        'warn',
        `job ${job.name}: the timer fired again for the run due ${scheduledAt.toISOString()} (at ${new Date(now).toISOString()}): ignored`,
      );
      return;
    }
    state.lastDue = scheduledAt.getTime();
    if (state.running || state.acquiring) {
      state.skipped++;
      const r = state.running;
      if (r)
        this.log(
          'warn',
          `job ${job.name} skipped: its run started ${new Date(r.startedAt).toISOString()} (pid ${r.pid}) is still going`,
        );
      else this.log('warn', `job ${job.name} skipped: its last run is still waiting for the lock`);
      this.emit('skip', job.name, r?.pid ?? 0);
      return;
    }
    if (!this.options.lock) {
      this.launch(state, scheduledAt);
      return;
    }
    state.acquiring = true;
    this.acquire(job, scheduledAt).then(
      (ok) => {
        state.acquiring = false;
        if (this.stopped) {
          if (typeof ok === 'object') this.release(job, ok);
          return;
        }
        if (ok) {
          if (typeof ok === 'object') state.held = ok;
          this.launch(state, scheduledAt);
        } else {
          this.log(
            'info',
            `job ${job.name}: the run due ${scheduledAt.toISOString()} is taken by another scheduler (lock)`,
          );
          this.emit('locked', job.name, scheduledAt);
        }
      },
      (err: unknown) => {
        state.acquiring = false;
        this.log(
          'error',
          `job ${job.name}: the lock failed, the run due ${scheduledAt.toISOString()} is not started: ${err instanceof Error ? err.stack : String(err)}`,
        );
        this.emit('locked', job.name, scheduledAt);
      },
    );
  }

  private lockFn: LockFunction | undefined;

  /** True, false, or a lock to release once the run ends. */
  private async acquire(job: Job, scheduledAt: Date): Promise<boolean | HeldLock> {
    const lock = this.options.lock!;
    if (!this.lockFn) {
      const mod = (await import(lock.module)) as Record<string, unknown>;
      const fn = mod[lock.exportName];
      if (typeof fn !== 'function') throw new Error(`the lock's export ${lock.exportName} is not a function`);
      this.lockFn = fn as LockFunction;
    }
    const ok = await this.lockFn({
      job: job.name,
      spec: job.spec,
      scheduledAt,
      host: os.hostname(),
      pid: process.pid,
      args: lock.args,
    });
    if (ok !== null && typeof ok === 'object' && typeof (ok as HeldLock).release === 'function') return ok as HeldLock;
    return ok === true;
  }

  private release(job: Job, held: HeldLock): void {
    Promise.resolve()
      .then(() => held.release())
      .catch((err: unknown) => {
        this.log(
          'warn',
          `job ${job.name}: releasing the lock failed (it expires by itself): ${err instanceof Error ? err.message : String(err)}`,
        );
      });
  }

  private launch(state: JobState, scheduledAt: Date): void {
    const { job } = state;
    if (job.kind === 'command') this.runCommand(state, job, scheduledAt);
    else this.runFunction(state, job, scheduledAt);
  }

  private finish(state: JobState, record: RunRecord): void {
    state.running = undefined;
    if (state.held) {
      this.release(state.job, state.held);
      state.held = undefined;
    }
    state.runs++;
    const ok = record.exitCode === 0;
    if (!ok) state.failed++;
    const exit = record.signal ?? String(record.exitCode);
    this.log(
      ok ? 'info' : 'warn',
      `job ${state.job.name} finished (pid ${record.pid}): exit ${exit}, ${record.durationMs} ms, started ${record.startedAt.toISOString()}: ${jobTarget(state.job)}${record.error ? `: ${record.error}` : ''}`,
    );
    this.emit('run', record);
  }

  private runCommand(state: JobState, job: Job & { kind: 'command' }, scheduledAt: Date): void {
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      // Its own process group, so that stopping kills what the shell started too. Output
      // goes where the command sends it; what it does not redirect reaches our stdout/stderr.
      child = spawn('/bin/sh', ['-c', job.command], {
        cwd: this.options.cwd,
        env: {
          ...(this.options.env ?? process.env),
          SKITAI_CRON_JOB: job.name,
          SKITAI_CRON_DUE: scheduledAt.toISOString(),
        },
        stdio: ['ignore', 'inherit', 'inherit'],
        detached: true,
      });
    } catch (err) {
      this.finish(state, {
        job: job.name,
        pid: 0,
        startedAt: new Date(startedAt),
        exitCode: 127,
        signal: null,
        durationMs: 0,
        error: (err as Error).message,
      });
      return;
    }
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    const pid = child.pid ?? 0;
    state.running = { pid, startedAt, child, done };
    this.log('info', `job ${job.name} started (pid ${pid}): ${job.command}`);
    this.emit('start', job.name, pid, new Date(startedAt));
    let ended = false;
    const end = (exitCode: number | null, signal: NodeJS.Signals | null, error?: string) => {
      if (ended) return;
      ended = true;
      this.finish(state, {
        job: job.name,
        pid,
        startedAt: new Date(startedAt),
        exitCode,
        signal,
        durationMs: Date.now() - startedAt,
        error,
      });
      resolveDone();
    };
    child.once('error', (err) => end(127, null, err.message));
    child.once('exit', (code, signal) => end(code, signal));
  }

  private runFunction(state: JobState, job: Job & { kind: 'function' }, scheduledAt: Date): void {
    const startedAt = Date.now();
    const abort = new AbortController();
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    state.running = { pid: process.pid, startedAt, abort, done };
    this.log('info', `job ${job.name} started (pid ${process.pid}): ${jobTarget(job)}`);
    this.emit('start', job.name, process.pid, new Date(startedAt));
    const ctx: JobContext = {
      name: job.name,
      spec: job.spec,
      startedAt: new Date(startedAt),
      scheduledAt,
      args: job.args,
      signal: abort.signal,
      log: (message, level = 'info') => this.log(level, `job ${job.name}: ${message}`),
    };
    (async () => {
      const mod = (await import(job.module)) as Record<string, unknown>;
      const fn = mod[job.exportName];
      if (typeof fn !== 'function') throw new Error(`export ${job.exportName} is not a function`);
      await fn(ctx);
    })()
      .then(
        () =>
          this.finish(state, {
            job: job.name,
            pid: process.pid,
            startedAt: new Date(startedAt),
            exitCode: 0,
            signal: null,
            durationMs: Date.now() - startedAt,
          }),
        (err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          this.log('error', `job ${job.name} threw: ${e.stack ?? e.message}`);
          this.finish(state, {
            job: job.name,
            pid: process.pid,
            startedAt: new Date(startedAt),
            exitCode: 1,
            signal: null,
            durationMs: Date.now() - startedAt,
            error: `${e.name}: ${e.message}`,
          });
        },
      )
      .finally(resolveDone);
  }

  private stopTimers(): void {
    for (const s of this.states) s.cron?.stop();
  }

  /**
   * Stops the timers, asks running commands to stop (SIGTERM to their process group) and
   * function jobs to give up (their AbortSignal), and waits up to `graceMs` for them; what is
   * still running then is killed (SIGKILL) or, for a function, left behind.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTimers();
    const running = this.states.filter((s) => s.running).map((s) => ({ name: s.job.name, r: s.running! }));
    for (const { name, r } of running) {
      this.log('info', `job ${name}: stopping its run (pid ${r.pid})`);
      if (r.child) signalGroup(r.pid, 'SIGTERM');
      r.abort?.abort(new Error('the scheduler is stopping'));
    }
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        Promise.all(running.map(({ r }) => r.done)).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (late) {
        for (const { name, r } of running) {
          if (r.child && r.child.exitCode === null && r.child.signalCode === null) {
            this.log('warn', `job ${name}: pid ${r.pid} did not stop within ${graceMs} ms: killed`);
            signalGroup(r.pid, 'SIGKILL');
          }
        }
        await Promise.race([
          Promise.all(running.filter(({ r }) => r.child).map(({ r }) => r.done)),
          new Promise((r) => setTimeout(r, 1000)),
        ]);
      }
    }
    this.log('info', `scheduler stopped (pid ${process.pid})`);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/**
 * For a process that owns a scheduler (the background process, the stand-alone daemon): an
 * error a job throws outside its run is logged, and the other jobs go on.
 */
export function keepGoing(log: CronLog): void {
  process.on('uncaughtException', (err) =>
    log.log('error', `cron: a job threw outside its run: ${err.stack ?? err.message}`),
  );
  process.on('unhandledRejection', (reason) =>
    log.log('error', `cron: a job left a rejected promise: ${reason instanceof Error ? reason.stack : String(reason)}`),
  );
}
