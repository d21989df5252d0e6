import fs from 'node:fs';
import path from 'node:path';
import type { Kernel, RunOptions } from '../kernel.js';
import type { CommandLine } from '../run/argv.js';
import { startDetached } from './detach.js';
import { scriptName } from './title.js';
import { isLiveProcess, readPidFile, skitaiMarks, waitForExit } from './pid-file.js';
import process from 'node:process';

export { readPidFile, writePidFile, type PidState } from './pid-file.js';

/** Where the daemon keeps its pid file and its console output. */
export interface DaemonPaths {
  pidFile: string;
  outFile: string;
}

export interface DaemonOptions {
  /** Folder for the pid file (default: the startup script's folder). */
  varpath?: string;
  logpath?: string;
}

export function daemonPaths(kernel: Kernel, options: DaemonOptions): DaemonPaths {
  const dir = options.varpath ? kernel.abspath(options.varpath) : kernel.getswd();
  const base = scriptName().replace(/\.[cm]?[jt]s$/, '');
  const outDir = options.logpath ? kernel.abspath(options.logpath) : dir;
  return { pidFile: path.join(dir, `${base}.pid`), outFile: path.join(outDir, `${base}.out`) };
}

/** Whether a pid is a live skitai process (a pid reused by another program is stale). */
export function isSkitaiProcess(pid: number): boolean {
  return isLiveProcess(pid, skitaiMarks());
}

function say(line: string): void {
  process.stdout.write(`skitai(${scriptName()}): ${line}\n`);
}

function waitGone(pid: number, ms: number): Promise<boolean> {
  return waitForExit(pid, skitaiMarks(), ms);
}

async function stopDaemon(paths: DaemonPaths, graceMs: number): Promise<number> {
  const st = readPidFile(paths.pidFile);
  if (st.state === 'none') {
    say('not running');
    return 0;
  }
  if (st.state === 'stale') {
    fs.rmSync(paths.pidFile, { force: true });
    say(`not running (removed a stale pid file for pid ${st.pid})`);
    return 0;
  }
  process.kill(st.pid, 'SIGTERM');
  if (!(await waitGone(st.pid, graceMs))) {
    say(`pid ${st.pid} did not stop within ${Math.round(graceMs / 1000)} s: killing it`);
    // The daemon leads its own process group: its workers go with it.
    try {
      process.kill(-st.pid, 'SIGKILL');
    } catch {
      try {
        process.kill(st.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await waitGone(st.pid, 5000);
  }
  fs.rmSync(paths.pidFile, { force: true });
  say(`stopped (pid ${st.pid})`);
  return 0;
}

async function startDaemon(kernel: Kernel, paths: DaemonPaths): Promise<number> {
  const st = readPidFile(paths.pidFile);
  if (st.state === 'running') {
    say(`already running (pid ${st.pid})`);
    return 1;
  }
  if (st.state === 'stale') fs.rmSync(paths.pidFile, { force: true });
  fs.mkdirSync(path.dirname(paths.outFile), { recursive: true });
  const args = process.argv.slice(1).filter((a, i) => i === 0 || !['start', '-d', 'restart', '-r'].includes(a));
  const started = await startDetached({
    args,
    outFile: paths.outFile,
    cwd: kernel.getswd(),
    env: { ...process.env, SKITAI_DAEMON_PIDFILE: paths.pidFile },
    running: (pid) => {
      const now = readPidFile(paths.pidFile);
      return now.state === 'running' && now.pid === pid;
    },
    waitMs: 60_000,
  });
  if (started.ok) {
    say(`started (pid ${started.pid}); output in ${paths.outFile}`);
    return 0;
  }
  const { why: exited, tail } = started;
  process.stderr.write(`skitai(${scriptName()}): failed to start (${exited}); the end of ${paths.outFile}:\n${tail}\n`);
  return 1;
}

/**
 * The daemon verbs: start (-d), stop (-s), restart (-r), status. Exit codes: 0 done or
 * running; status 3 when stopped (as LSB init scripts); 1 a failure.
 */
export async function daemonVerb(
  kernel: Kernel,
  options: RunOptions & DaemonOptions,
  cli: CommandLine,
): Promise<number> {
  const paths = daemonPaths(kernel, options);
  const stopDeadline = kernel.getSettings().stopDeadline;
  const grace = stopDeadline + 10_000;
  switch (cli.verb) {
    case 'status': {
      const st = readPidFile(paths.pidFile);
      if (st.state === 'running') {
        say(`running (pid ${st.pid})`);
        return 0;
      }
      if (st.state === 'stale') say(`stopped (stale pid file ${paths.pidFile} for pid ${st.pid})`);
      else say('stopped');
      return 3;
    }
    case 'stop':
      return stopDaemon(paths, grace);
    case 'restart':
      await stopDaemon(paths, grace);
      return startDaemon(kernel, paths);
    case 'start':
      return startDaemon(kernel, paths);
    default:
      return 2;
  }
}
