// The kernel plugin: `kernel.use(cron({ jobs }))`, `cron().add(spec, command)` and
// `cronJob(kernel, spec, command)` (Skitai's `skitai.cron`). The jobs are checked at start in
// every process, and the scheduler runs once per server as a background process.
import { checkOptionKeys, definePlugin, Kernel, type Plugin } from '@skitai/kernel';
import {
  checkJobs,
  checkTimezone,
  CronError,
  normalizeJobs,
  normalizeLock,
  type FunctionJobInput,
  type JobInput,
  type LockInput,
  type ModuleFunction,
} from './jobs.js';
import type { SchedulerProcessOptions } from './process-entry.js';

export interface CronOptions {
  /** Crontab lines, [spec, command] pairs, or { spec, command } / { spec, module, export } objects. */
  jobs?: readonly JobInput[];
  /** IANA time zone for every spec (default: the server's, i.e. TZ or the system's). */
  timezone?: string;
  /** Accept six-field specs with a leading seconds field (default false: crontab's five). */
  seconds?: boolean;
  /** Folder for cron.log, relative to the startup script (default: the server's logpath). */
  logpath?: string;
  /** Also log to the console (default: when the server runs with -v). */
  verbose?: boolean;
  /** Working folder of commands and relative module paths (default: the startup script's). */
  cwd?: string;
  /** Seconds running jobs get to stop when the server stops (default 5). */
  stopGrace?: number;
  /**
   * A lock shared by the servers of several machines, so that each run happens on one of
   * them: `'./cron-lock.mjs#acquire'` or { module, export, args }; see the README.
   */
  lock?: LockInput;
}

/** The target of `add`/`cronJob`: a shell command, or a function in a module. */
export type CronTarget = string | Omit<FunctionJobInput, 'spec'>;

export interface CronPlugin extends Plugin<CronOptions | undefined> {
  /** Adds a job (before start), as Skitai's `skitai.cron(spec, command)`. */
  add(spec: string, target: CronTarget, extra?: { name?: string; timezone?: string }): CronPlugin;
  /** The jobs given so far (options and add()). */
  readonly jobs: readonly JobInput[];
}

export const PLUGIN_NAME = '@skitai/cron';
// Every key CronOptions has (TypeScript keeps the two in step).
const OPTION_KEYS: Record<keyof CronOptions, true> = {
  jobs: true,
  timezone: true,
  seconds: true,
  logpath: true,
  verbose: true,
  cwd: true,
  stopGrace: true,
  lock: true,
};
const VERSION = '0.1.0';
/** The name of the background process in the master's care. */
export const PROCESS_NAME = 'cron';

function toInput(spec: string, target: CronTarget, extra: { name?: string; timezone?: string } = {}): JobInput {
  if (typeof spec !== 'string')
    throw new CronError('SKT_CRON_JOB', `cron: the spec must be a string, got ${JSON.stringify(spec)}`);
  if (typeof target === 'string') return { spec, command: target, ...extra };
  if (target && typeof target === 'object') return { ...target, spec, ...extra } as FunctionJobInput;
  throw new CronError(
    'SKT_CRON_JOB',
    `cron: the job for ${JSON.stringify(spec)} must be a command or { module, export }`,
  );
}

// Jobs added by cronJob(), kept per kernel until apply() reads them.
const kernelJobs = new WeakMap<Kernel, JobInput[]>();

/** The plugin factory: `kernel.use(cron({ jobs: ['*\/5 * * * * ./sync.sh > sync.log 2>&1'] }))`. */
export function cron(options: CronOptions = {}): CronPlugin {
  checkOptionKeys(PLUGIN_NAME, options, Object.keys(OPTION_KEYS));
  // One live list (definePlugin copies and freezes the object, not the array).
  const jobs: JobInput[] = [...(options.jobs ?? [])];
  const plugin = {
    name: PLUGIN_NAME,
    version: VERSION,
    kernel: '^0.1.0',
    jobs: jobs as readonly JobInput[],
    add(spec: string, target: CronTarget, extra?: { name?: string; timezone?: string }): CronPlugin {
      jobs.push(toInput(spec, target, extra));
      return self;
    },
    apply(kernel: Kernel, useOptions: CronOptions | undefined): void {
      checkOptionKeys(PLUGIN_NAME, useOptions, Object.keys(OPTION_KEYS));
      const o: CronOptions = { ...options, ...useOptions };
      const inputs = [...jobs, ...(useOptions?.jobs ?? []), ...(kernelJobs.get(kernel) ?? [])];
      const cwd = o.cwd ? kernel.abspath(o.cwd) : kernel.getswd();
      const stopGrace = o.stopGrace ?? 5;
      if (typeof stopGrace !== 'number' || !(stopGrace >= 0))
        throw new CronError(
          'SKT_CRON_OPTION',
          `cron: stopGrace must be seconds, 0 or more, got ${JSON.stringify(o.stopGrace)}`,
        );
      checkTimezone(o.timezone, 'cron');
      const table = normalizeJobs(inputs, { cwd, seconds: o.seconds });
      const lock = normalizeLock(o.lock, cwd);
      // Every process checks specs and commands (so a worker never runs with a bad table);
      // only the master (or a single process) imports function modules to check them.
      checkJobs(table, {
        cwd,
        seconds: o.seconds,
        timezone: o.timezone,
        lock,
        modules: kernel.processRole !== 'worker',
      });
      if (table.length === 0) return;
      const processOptions: SchedulerProcessOptions = {
        jobs: table,
        cwd,
        timezone: o.timezone,
        seconds: o.seconds,
        logpath: o.logpath ? kernel.abspath(o.logpath) : kernel.logs.logpath,
        // The server's console logging (-v or verbose), as run() read it: not process.argv again.
        verbose: o.verbose ?? kernel.logs.verbose,
        graceMs: stopGrace * 1000,
        // Read when the scheduler starts (after every plugin's apply): without a lock of its
        // own, the scheduler takes the instance bridge's (@skitai/shared), so that each run
        // happens once across instances.
        get lock() {
          return lock ?? bridgeLock(kernel, cwd);
        },
      };
      kernel.registerProcess(PROCESS_NAME, new URL('./process-entry.js', import.meta.url), {
        options: processOptions,
        stopTimeout: stopGrace + 3,
      });
    },
  };
  const self = definePlugin(plugin as Plugin<CronOptions | undefined>) as CronPlugin;
  return self;
}

function bridgeLock(kernel: Kernel, cwd: string): ModuleFunction | undefined {
  const ref = kernel.instanceBridge?.lock;
  return ref === undefined ? undefined : normalizeLock({ module: ref.module, export: ref.export, args: ref.args }, cwd);
}

/**
 * Skitai's `skitai.cron(spec, command)`: adds a crontab job to a kernel's scheduler (before
 * start) and uses the plugin on it if it does not yet. `cronJob(kernel, '*\/5 * * * *', './sync.sh')`.
 */
export function cronJob(
  kernel: Kernel,
  spec: string,
  target: CronTarget,
  extra?: { name?: string; timezone?: string },
): Kernel {
  if (kernel.state !== 'idle')
    throw new CronError('SKT_CRON_JOB', `cron: jobs are added before the server starts (it is ${kernel.state})`);
  let list = kernelJobs.get(kernel);
  if (!list) kernelJobs.set(kernel, (list = []));
  list.push(toInput(spec, target, extra));
  if (!kernel.plugins.has(PLUGIN_NAME)) kernel.use(cron());
  return kernel;
}
