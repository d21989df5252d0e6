// Runs test-support/workers-server.js (two workers, every plugin) with a live backend, for
// the workers test and the screenshot script.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerStatus } from '@skitai/kernel';
import { request } from './helpers.js';

export interface WorkersServer {
  port: number;
  child: ChildProcess;
  output: () => string;
  status: () => Promise<ServerStatus>;
  /** Resolves once server.log has `count` lines matching `re` (watched with inotify, not polled). */
  serverLog: (re: RegExp, count?: number) => Promise<string>;
  stop: () => Promise<void>;
}

function waitForLine(dir: string, file: string, re: RegExp, count = 1): Promise<string> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      let text = '';
      try {
        text = fs.readFileSync(path.join(dir, file), 'utf8');
      } catch {
        /* not yet */
      }
      const lines = text.split('\n').filter((l) => re.test(l));
      if (lines.length < count) return false;
      const line = lines[count - 1]!;
      watcher.close();
      resolve(line);
      return true;
    };
    const watcher = fs.watch(dir, () => {
      check();
    });
    check();
  });
}

const script = fileURLToPath(new URL('./workers-server.js', import.meta.url));

export async function startWorkersServer(): Promise<WorkersServer> {
  const backend = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ items: [1, 2, 3], url: req.url }));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-status-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  const env = {
    ...process.env,
    BACKEND: `127.0.0.1:${(backend.address() as { port: number }).port}`,
    SPOOL: path.join(dir, 'spool'),
    LOGS: path.join(dir, 'logs'),
  };
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
  let out = '';
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    out += c;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const check = () => {
      const m = /listening on http:\/\/[^\s:]+:(\d+)/.exec(out);
      if (m) {
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then(() => reject(new Error(`the server exited:\n${out}`)));
  });
  return {
    port,
    child,
    output: () => out,
    serverLog: (re, count) => waitForLine(env.LOGS, 'server.log', re, count),
    status: async () =>
      JSON.parse((await request(port, '/status/', { accept: 'application/json' })).body) as ServerStatus,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
      await exited;
      await new Promise((resolve) => backend.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
