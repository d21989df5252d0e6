// Node child processes for the tests, in a process group of their own (so a test can kill a
// server and the workers it forked at once), with their output collected and waited on.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects when the process exits first or after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** When the process exited (its forked children may live on, and still hold its pipes). */
  exited: Promise<Exit>;
  /** When it exited and its output ended (every holder of its pipes is gone). */
  closed: Promise<Exit>;
  /** SIGKILL to the whole process group (cleanup). */
  kill(): void;
}

const started = new Set<NodeProcess>();

/** `node ...args`, detached into its own process group. */
export function spawnNode(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): NodeProcess {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    wake();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const ended = (event: 'exit' | 'close') =>
    new Promise<Exit>((resolve) =>
      child.once(event, (code: number | null, signal: NodeJS.Signals | null) => {
        wake();
        resolve({ code, signal });
      }),
    );
  const proc: NodeProcess = {
    child,
    pid: child.pid!,
    output: () => out,
    exited: ended('exit'),
    closed: ended('close'),
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
          } else if (child.exitCode !== null || child.signalCode !== null) {
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
  started.add(proc);
  // Output ended: the process and the children that shared its pipes are gone; its group id
  // is not killed later (it may be another process's by then).
  void proc.closed.then(() => started.delete(proc));
  return proc;
}

/** SIGKILLs the process group of every process spawnNode started whose output has not ended (for `after`). */
export function killSpawned(): void {
  for (const p of started) p.kill();
  started.clear();
}

/** A live process (a zombie, exited but not yet reaped, counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** A process's command line (its title once it set one), '' when it is gone. */
export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/**
 * Runs `node ...args` to its end and returns what it printed as `ANSWER <json>` on stdout: the
 * way a test asks a fresh node (other flags, another module graph) for a result. Rejects with
 * the whole output when the process fails or prints no answer.
 */
export function nodeAnswer<T>(args: string[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    execFile(process.execPath, args, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('ANSWER '));
      if (err || !line) reject(new Error(`${err?.message ?? 'no ANSWER line'}\n${stdout}\n${stderr}`));
      else resolve(JSON.parse(line.slice('ANSWER '.length)) as T);
    });
  });
}
