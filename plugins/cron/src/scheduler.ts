// The scheduler: one croner timer a job, one run of a job at a time, a log line when a run
// starts, when it ends (start time, pid, exit code, duration) and when a due run is skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Cron } from 'croner';
import { cronOptions, describeJob, jobTarget, type Job } from './jobs.js';
import type { CronLog, CronLogLevel } from './log.js';

/** What a function job receives. */
export interface JobContext {
  /** The job's name (`#<n>` or the name given). */
  name: string;
  spec: string;
  /** When this run started. */
  startedAt: Date;
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
}

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
 * 'skip' (job name, the pid still running).
 */
export class Scheduler extends EventEmitter {
  private readonly states: JobState[];
  private stopped = false;
  private started = false;

  constructor(jobs: readonly Job[], private readonly options: SchedulerOptions) {
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
    this.log('info', `scheduler started (pid ${process.pid}): ${this.states.length} job${this.states.length === 1 ? '' : 's'}, time zone ${zone}`);
    for (const state of this.states) {
      try {
        state.cron = new Cron(state.job.spec, cronOptions(state.job, this.options), () => this.due(state));
      } catch (err) {
        this.stopTimers();
        throw new Error(`cron job ${describeJob(state.job)}: bad spec: ${(err as Error).message}`);
      }
      this.log('info', `job ${state.job.name} scheduled: ${state.job.spec} ${jobTarget(state.job)} (next ${state.cron.nextRun()?.toISOString() ?? 'never'})`);
    }
  }

  status(): JobStatus[] {
    return this.states.map((s) => ({
      name: s.job.name, spec: s.job.spec, target: jobTarget(s.job),
      runs: s.runs, skipped: s.skipped, failed: s.failed, running: s.running !== undefined,
      nextRun: s.cron?.nextRun() ?? null,
    }));
  }

  private due(state: JobState): void {
    if (this.stopped) return;
    const { job } = state;
    if (state.running) {
      state.skipped++;
      const r = state.running;
      this.log('warn', `job ${job.name} skipped: its run started ${new Date(r.startedAt).toISOString()} (pid ${r.pid}) is still going`);
      this.emit('skip', job.name, r.pid);
      return;
    }
    if (job.kind === 'command') this.runCommand(state, job);
    else this.runFunction(state, job);
  }

  private finish(state: JobState, record: RunRecord): void {
    state.running = undefined;
    state.runs++;
    const ok = record.exitCode === 0;
    if (!ok) state.failed++;
    const exit = record.signal ?? String(record.exitCode);
    this.log(ok ? 'info' : 'warn', `job ${state.job.name} finished (pid ${record.pid}): exit ${exit}, ${record.durationMs} ms, started ${record.startedAt.toISOString()}: ${jobTarget(state.job)}${record.error ? `: ${record.error}` : ''}`);
    this.emit('run', record);
  }

  private runCommand(state: JobState, job: Job & { kind: 'command' }): void {
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      // Its own process group, so that stopping kills what the shell started too. Output
      // goes where the command sends it; what it does not redirect reaches our stdout/stderr.
      child = spawn('/bin/sh', ['-c', job.command], {
        cwd: this.options.cwd,
        env: this.options.env ?? process.env,
        stdio: ['ignore', 'inherit', 'inherit'],
        detached: true,
      });
    } catch (err) {
      this.finish(state, { job: job.name, pid: 0, startedAt: new Date(startedAt), exitCode: 127, signal: null, durationMs: 0, error: (err as Error).message });
      return;
    }
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => { resolveDone = r; });
    const pid = child.pid ?? 0;
    state.running = { pid, startedAt, child, done };
    this.log('info', `job ${job.name} started (pid ${pid}): ${job.command}`);
    this.emit('start', job.name, pid, new Date(startedAt));
    let ended = false;
    const end = (exitCode: number | null, signal: NodeJS.Signals | null, error?: string) => {
      if (ended) return;
      ended = true;
      this.finish(state, { job: job.name, pid, startedAt: new Date(startedAt), exitCode, signal, durationMs: Date.now() - startedAt, error });
      resolveDone();
    };
    child.once('error', (err) => end(127, null, err.message));
    child.once('exit', (code, signal) => end(code, signal));
  }

  private runFunction(state: JobState, job: Job & { kind: 'function' }): void {
    const startedAt = Date.now();
    const abort = new AbortController();
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => { resolveDone = r; });
    state.running = { pid: process.pid, startedAt, abort, done };
    this.log('info', `job ${job.name} started (pid ${process.pid}): ${jobTarget(job)}`);
    this.emit('start', job.name, process.pid, new Date(startedAt));
    const ctx: JobContext = {
      name: job.name,
      spec: job.spec,
      startedAt: new Date(startedAt),
      args: job.args,
      signal: abort.signal,
      log: (message, level = 'info') => this.log(level, `job ${job.name}: ${message}`),
    };
    (async () => {
      const mod = await import(job.module) as Record<string, unknown>;
      const fn = mod[job.exportName];
      if (typeof fn !== 'function') throw new Error(`export ${job.exportName} is not a function`);
      await fn(ctx);
    })().then(
      () => this.finish(state, { job: job.name, pid: process.pid, startedAt: new Date(startedAt), exitCode: 0, signal: null, durationMs: Date.now() - startedAt }),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        this.log('error', `job ${job.name} threw: ${e.stack ?? e.message}`);
        this.finish(state, { job: job.name, pid: process.pid, startedAt: new Date(startedAt), exitCode: 1, signal: null, durationMs: Date.now() - startedAt, error: `${e.name}: ${e.message}` });
      },
    ).finally(resolveDone);
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
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), graceMs); }),
      ]);
      clearTimeout(timer);
      if (late) {
        for (const { name, r } of running) {
          if (r.child && r.child.exitCode === null && r.child.signalCode === null) {
            this.log('warn', `job ${name}: pid ${r.pid} did not stop within ${graceMs} ms: killed`);
            signalGroup(r.pid, 'SIGKILL');
          }
        }
        await Promise.race([Promise.all(running.filter(({ r }) => r.child).map(({ r }) => r.done)), new Promise((r) => setTimeout(r, 1000))]);
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
    try { process.kill(pid, signal); } catch { /* gone */ }
  }
}

/**
 * For a process that owns a scheduler (the background process, the stand-alone daemon): an
 * error a job throws outside its run is logged, and the other jobs go on.
 */
export function keepGoing(log: CronLog): void {
  process.on('uncaughtException', (err) => log.log('error', `cron: a job threw outside its run: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (reason) => log.log('error', `cron: a job left a rejected promise: ${reason instanceof Error ? reason.stack : String(reason)}`));
}
