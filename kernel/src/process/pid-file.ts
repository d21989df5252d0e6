// Pid files and whether the process they name is still ours: one implementation for the
// daemon verbs of run() and of the stand-alone CLIs (skitai-cron, skitai-smtpda), which
// import it through '@skitai/kernel/cli' (node:fs and node:path only).
import fs from 'node:fs';
import path from 'node:path';
import { scriptName } from './title.js';
import process from 'node:process';

export type PidState = { state: 'running'; pid: number } | { state: 'stale'; pid: number } | { state: 'none' };

/** What a skitai server's command line holds: its title `skitai(...)`, or the script before the title is set. */
export function skitaiMarks(): string[] {
  return ['skitai(', scriptName()];
}

/**
 * Whether `pid` is alive and is ours: its command line (/proc/PID/cmdline) holds one of
 * `marks`, so that a pid reused by another program counts as gone. Without /proc the
 * signal test alone decides.
 */
export function isLiveProcess(pid: number, marks: readonly string[] = skitaiMarks()): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return true;
  }
  return marks.some((mark) => mark !== '' && cmdline.includes(mark));
}

/** The state of a pid file: none, stale (garbage, a dead pid, a pid not ours) or running. */
export function readPidFile(file: string, marks: readonly string[] = skitaiMarks()): PidState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { state: 'none' };
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'stale', pid: 0 };
  return isLiveProcess(pid, marks) ? { state: 'running', pid } : { state: 'stale', pid };
}

/** Writes this process's pid; the file is removed when the process exits (if it still names it). */
export function writePidFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${process.pid}\n`);
  process.once('exit', () => {
    try {
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
    } catch {
      /* gone */
    }
  });
}

/** Resolves true once `pid` is gone (or no longer ours), false after `ms`. For the stop verbs. */
export async function waitForExit(pid: number, marks: readonly string[], ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  // A process that is not our child cannot be awaited by event: its /proc entry is polled.
  while (Date.now() < until) {
    if (!isLiveProcess(pid, marks)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isLiveProcess(pid, marks);
}
