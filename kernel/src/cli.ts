// Helpers for stand-alone command-line programs (skitai-cron, skitai-smtpda), imported alone
// as '@skitai/kernel/cli' so that they do not load the kernel: pid files, and the verbs of
// Skitai's command lines beside node's util.parseArgs, and starting a daemon.
export {
  isLiveProcess,
  readPidFile,
  skitaiMarks,
  waitForExit,
  writePidFile,
  type PidState,
} from './process/pid-file.js';
export { splitVerbs, VERBS, type Verb } from './run/verbs.js';
export { startDetached, type DetachOptions, type Detached } from './process/detach.js';
