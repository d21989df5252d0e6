// The scheduler as a background process of the server: started once by the master (or beside
// a single process) through kernel.registerProcess, stopped with the server.
import { backgroundProcess } from '@skitai/kernel';
import type { Job, ModuleFunction } from './jobs.js';
import { CronLog } from './log.js';
import { Scheduler, keepGoing } from './scheduler.js';

/** What the plugin hands to this process (JSON). */
export interface SchedulerProcessOptions {
  jobs: Job[];
  cwd: string;
  timezone?: string;
  seconds?: boolean;
  logpath?: string;
  verbose?: boolean;
  /** Milliseconds running jobs get to stop when the server stops. */
  graceMs: number;
  lock?: ModuleFunction;
}

const ctx = backgroundProcess();
const options = ctx.options as SchedulerProcessOptions;
const log = new CronLog({ logpath: options.logpath, verbose: options.verbose });
keepGoing(log);
process.on('SIGUSR1', () => log.reopen());
const scheduler = new Scheduler(options.jobs, { log, cwd: options.cwd, timezone: options.timezone, seconds: options.seconds, lock: options.lock });
ctx.onStop(async () => {
  await scheduler.stop(options.graceMs);
  log.close();
});
scheduler.start();
