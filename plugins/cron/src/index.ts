// @skitai/cron: crontab jobs (shell commands and functions) on croner, in the server and
// stand-alone (the skitai-cron command).
export {
  cron,
  cronJob,
  PLUGIN_NAME,
  PROCESS_NAME,
  type CronOptions,
  type CronPlugin,
  type CronTarget,
} from './plugin.js';
export {
  Scheduler,
  keepGoing,
  type SchedulerOptions,
  type JobContext,
  type RunRecord,
  type JobStatus,
  type LockRequest,
  type LockFunction,
  type HeldLock,
} from './scheduler.js';
export { CronLog, type CronLogOptions, type CronLogLevel } from './log.js';
export {
  CronError,
  normalizeJobs,
  normalizeLock,
  checkJobs,
  checkSpec,
  checkCommand,
  splitCrontabLine,
  describeJob,
  type Job,
  type LockInput,
  type ModuleFunction,
  type JobInput,
  type CommandJobInput,
  type FunctionJobInput,
  type CheckOptions,
} from './jobs.js';
export { parseIni, readIni, type IniFile } from './ini.js';
