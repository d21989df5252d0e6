// Starting a daemon: node again, detached in a process group of its own, its output appended
// to a file, and a wait until it says it runs (its pid file) or exits. The kernel's `start`
// verb and the stand-alone programs (skitai-cron, skitai-smtpda) start theirs this way.
import fs from 'node:fs';
import process from 'node:process';

export interface DetachOptions {
  /** node's arguments (the script and its own): node's own options of this process go first. */
  args: string[];
  /** The daemon's console output, appended to (its folder must exist). */
  outFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Whether the daemon with this pid says it runs (reads its pid file). */
  running(pid: number): boolean;
  /** How long it may take (then its process group is killed). */
  waitMs: number;
}

/** Started, or why not, with the end of its output. */
export type Detached = { ok: true; pid: number } | { ok: false; why: string; tail: string };

const POLL_MS = 50;

export async function startDetached(options: DetachOptions): Promise<Detached> {
  const out = fs.openSync(options.outFile, 'a');
  // node:child_process when a daemon is started, not at import.
  const child = process
    .getBuiltinModule('node:child_process')
    .spawn(process.execPath, [...process.execArgv, ...options.args], {
      detached: true,
      stdio: ['ignore', out, out],
      cwd: options.cwd,
      env: options.env ?? process.env,
    });
  fs.closeSync(out);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ?? `exit code ${code}`;
  });
  // A poll: the daemon says it runs by writing its pid file, which nothing here is told of.
  const until = Date.now() + options.waitMs;
  while (Date.now() < until && exited === undefined) {
    if (options.running(child.pid!)) {
      child.unref();
      return { ok: true, pid: child.pid! };
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (exited === undefined) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    exited = `no answer within ${Math.round(options.waitMs / 1000)} s`;
  }
  let tail = '';
  try {
    tail = fs.readFileSync(options.outFile, 'utf8').trimEnd().split('\n').slice(-8).join('\n');
  } catch {
    /* none */
  }
  return { ok: false, why: exited, tail };
}
