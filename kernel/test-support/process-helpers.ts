// Helpers for the process-model tests: start a fixture server as a child process, read its
// output, make requests. (Kept out of test/: node's runner would take it for a test file.)
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cmdline, killSpawned, spawnNode, type NodeProcess } from '@skitai/test-support';

const here = path.dirname(fileURLToPath(import.meta.url));
/** kernel/test-support/process-fixtures (this file runs from kernel/dist/test-support). */
export const FIXTURES = path.resolve(here, '../../test-support/process-fixtures');

export type { Exit } from '@skitai/test-support';

/** A fixture server (the shared child-process runner), and the port it listens on once read. */
export interface ServerProcess extends NodeProcess {
  port: number;
}

export interface StartOptions {
  script?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Wait for the "listening" line and read the port from it (default true). */
  listening?: boolean;
  cwd?: string;
}

export function spawnServer(options: StartOptions = {}): ServerProcess {
  const script = path.join(FIXTURES, options.script ?? 'server.mjs');
  return Object.assign(spawnNode([script, ...(options.args ?? [])], { env: options.env, cwd: options.cwd }), {
    port: 0,
  });
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
export const killAll = killSpawned;

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

export { pidAlive } from '@skitai/test-support';
export const processTitle = cmdline;

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
