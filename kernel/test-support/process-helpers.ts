// Helpers for the process-model tests: start a fixture server as a child process, read its
// output, make requests. (Kept out of test/: node's runner would take it for a test file.)
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** kernel/test-support/process-fixtures (this file runs from kernel/dist/test-support). */
export const FIXTURES = path.resolve(here, '../../test-support/process-fixtures');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  output(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<Exit>;
  /** Kills the whole process group (cleanup). */
  kill(): void;
}

export interface StartOptions {
  script?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Wait for the "listening" line and read the port from it (default true). */
  listening?: boolean;
  cwd?: string;
}

const started = new Set<ServerProcess>();

export function spawnServer(options: StartOptions = {}): ServerProcess {
  const script = path.join(FIXTURES, options.script ?? 'server.mjs');
  const child = spawn(process.execPath, [script, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    cwd: options.cwd,
  });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    }),
  );
  const server: ServerProcess = {
    child,
    pid: child.pid!,
    port: 0,
    output: () => out,
    exited,
    waitFor(pattern, ms = 15_000) {
      return new Promise((resolve, reject) => {
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
        const done = () => {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
        };
        waiters.push(check);
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
  started.add(server);
  return server;
}

export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const server = spawnServer(options);
  if (options.listening !== false) {
    // The master's line once every worker listens, or a single process's own line.
    const m = await server.waitFor(/(?:master: \d+ workers|\(M\)) listening on http:\/\/[^\s]+:(\d+)/);
    server.port = Number(m[1]);
  }
  return server;
}

/** Kills every server a test started and did not stop (for `after`). */
export function killAll(): void {
  for (const s of started) s.kill();
  started.clear();
}

export interface Reply {
  status: number;
  body: string;
  json: any;
  headers: http.IncomingHttpHeaders;
}

export function get(
  port: number,
  urlPath: string,
  options: { agent?: http.Agent; timeout?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: urlPath, agent: options.agent ?? false, timeout: options.timeout ?? 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, body, json, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

// The shared helpers, for the tests that import them from here.
export { sleep, tempDir, waitUntil } from '@skitai/test-support';

/** A live process (a zombie waiting for its parent to reap it counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function processTitle(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Child pids of a process (from /proc). */
export function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Worker ids and pids seen over fresh-connection requests to /id: at least `n` requests, and
 * on until `expect` workers were seen (round robin can favour one worker for a while on a
 * loaded machine) or 15 s passed.
 */
export async function workersSeen(port: number, n = 12, expect = 2): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const until = Date.now() + 15_000;
  for (let i = 0; i < n || (seen.size < expect && Date.now() < until); i++) {
    const r = await get(port, '/id');
    seen.set(r.json.id, r.json.pid);
  }
  return seen;
}
