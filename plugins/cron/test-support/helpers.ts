// Helpers for the cron tests: child processes with their output, polling, temp folders.
// (Kept out of test/: node's runner would take them for test files.)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killSpawned, spawnNode, tempDir as sharedTempDir, type NodeProcess } from '@skitai/test-support';

const here = path.dirname(fileURLToPath(import.meta.url));
/** plugins/cron/test-support/fixtures (this file runs from plugins/cron/dist/test-support). */
export const FIXTURES = path.resolve(here, '../../test-support/fixtures');
/** The compiled CLI. */
export const CLI = path.resolve(here, '../src/cli.js');

/** A child process of the shared runner; `exited` waits for its output to end too (its jobs' pipes closed). */
export type Proc = NodeProcess;

export function spawnProc(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Proc {
  const p = spawnNode(args, options);
  return { ...p, exited: p.closed };
}

/** Runs to the end; resolves with the exit code and the output. */
export async function runProc(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeout?: number } = {},
): Promise<{ code: number | null; output: string }> {
  const p = spawnProc(args, options);
  const timer = setTimeout(() => p.kill(), options.timeout ?? 20_000);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, output: p.output() };
}

/** SIGKILLs every process a test started (for `after`). */
export const killAll = killSpawned;

export { sleep, waitUntil, pidAlive, cmdline } from '@skitai/test-support';

const temps: string[] = [];

/** The shared tempDir, removed after the tests (see the cleanup below). */
export function tempDir(prefix = 'skitai-cron-'): string {
  const dir = sharedTempDir(prefix);
  temps.push(dir);
  return dir;
}

/** For `after`: kills what is left, then removes the temp folders. */
export function cleanup(): void {
  killAll();
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** The file's non-empty lines ([] when it does not exist yet). */
export function lines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** `job <name> finished (pid N): exit E, D ms, started ISO` lines of a cron log. */
export interface Finished {
  job: string;
  pid: number;
  exit: string;
  ms: number;
  started: Date;
}
export function finishedRuns(log: string): Finished[] {
  const out: Finished[] = [];
  for (const m of log.matchAll(/cron: job (\S+) finished \(pid (\d+)\): exit (\S+), (\d+) ms, started (\S+):/g)) {
    out.push({ job: m[1]!, pid: Number(m[2]), exit: m[3]!, ms: Number(m[4]), started: new Date(m[5]!) });
  }
  return out;
}

export function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** `p`, or undefined when it has not settled within `ms` (the timer does not hold the process). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
