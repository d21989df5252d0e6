// Helpers for the cron tests: child processes with their output, polling, temp folders.
// (Kept out of test/: node's runner would take them for test files.)
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir as sharedTempDir } from '@skitai/test-support';

const here = path.dirname(fileURLToPath(import.meta.url));
/** plugins/cron/test-support/fixtures (this file runs from plugins/cron/dist/test-support). */
export const FIXTURES = path.resolve(here, '../../test-support/fixtures');
/** The compiled CLI. */
export const CLI = path.resolve(here, '../src/cli.js');

export interface Proc {
  child: ChildProcess;
  pid: number;
  output(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to the whole process group (cleanup). */
  kill(): void;
}

const live = new Set<Proc>();

export function spawnProc(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Proc {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(proc);
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    });
  });
  const proc: Proc = {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    waitFor(pattern, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            done();
            resolve(m);
            return;
          }
          if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`exited before ${pattern} appeared; output:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${pattern} did not appear within ${ms} ms; output:\n${out}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
  live.add(proc);
  return proc;
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

/** SIGKILLs every process a test started and did not see exit (for `after`). */
export function killAll(): void {
  for (const p of live) p.kill();
  live.clear();
}

export { sleep, waitUntil } from '@skitai/test-support';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) is not alive.
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

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
