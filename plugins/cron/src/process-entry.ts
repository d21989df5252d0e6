// The scheduler as a background process of the server: started once by the master (or beside
// a single process) through kernel.registerProcess, stopped with the server.
import { backgroundProcess } from '@skitai/kernel';
import type { Job, ModuleFunction } from './jobs.js';
import { CronLog } from './log.js';
import { Scheduler, keepGoing, type RunRecord } from './scheduler.js';
import process from 'node:process';

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
const scheduler = new Scheduler(options.jobs, {
  log,
  cwd: options.cwd,
  timezone: options.timezone,
  seconds: options.seconds,
  lock: options.lock,
});
ctx.onStop(async () => {
  await scheduler.stop(options.graceMs);
  log.close();
});
// The status page asks for the jobs with their last and next runs.
const lastRuns = new Map<string, RunRecord>();
scheduler.on('run', (record: RunRecord) => lastRuns.set(record.job, record));
ctx.onStatus(() => {
  const jobs = scheduler.status().map((j) => {
    const last = lastRuns.get(j.name);
    return {
      job: j.name,
      spec: j.spec,
      target: j.target,
      runs: j.runs,
      failed: j.failed,
      skipped: j.skipped,
      running: j.running,
      lastRun: last
        ? `${last.startedAt.toISOString()} (${last.exitCode === 0 ? 'ok' : (last.error ?? `exit ${last.exitCode ?? last.signal}`)}, ${last.durationMs} ms)`
        : '-',
      nextRun: j.nextRun?.toISOString() ?? '-',
    };
  });
  const per = (name: string, help: string, value: (j: (typeof jobs)[number]) => number) => ({
    name,
    help,
    type: 'counter' as const,
    samples: jobs.map((j) => ({ labels: { job: j.job }, value: value(j) })),
  });
  return [
    {
      name: 'cron',
      title: 'Cron jobs',
      data: jobs,
      metrics: [
        per('skitai_cron_job_runs_total', 'Runs of the cron job.', (j) => j.runs),
        per('skitai_cron_job_failures_total', 'Runs of the cron job that failed.', (j) => j.failed),
        per(
          'skitai_cron_job_skipped_total',
          'Runs of the cron job skipped because the previous one still ran.',
          (j) => j.skipped,
        ),
      ],
    },
  ];
});
scheduler.start();
