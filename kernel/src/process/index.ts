// The process model: workers, daemon verbs, rolling reload, CPU critical point,
// background processes, the master/worker messenger and shared last-updated keys.
export {
  ProcessModel,
  type ProcessRole,
  type CriticalPointOptions,
  type CriticalPoint,
  type BroadcastListener,
} from './model.js';
export { backgroundProcess, type BackgroundProcessOptions, type BackgroundContext } from './background.js';
export { LuStore } from './lu.js';
export { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';
export { daemonPaths, type DaemonPaths, type DaemonOptions } from './daemon.js';
export { isLiveProcess, readPidFile, skitaiMarks, waitForExit, writePidFile, type PidState } from './pid-file.js';
export type { ProcessRunOptions } from './run.js';
export { Pref } from './pref.js';
export { newInstanceId, type InstanceBridge, type SharedCache } from './bridge.js';
export { RELAY_EXEC_ARGV } from './exec-argv.js';
