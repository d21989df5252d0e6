import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { once, waitUntil } from '@skitai/test-support';

const script = fileURLToPath(new URL('../test-support/app-workers.js', import.meta.url));

function get(port: number, path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

test('was.broadcast reaches the apps of every worker', { timeout: 30000 }, async () => {
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    out += c;
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${out}`)), 15000);
      const check = () => {
        const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
    });
    // Both workers up: ids seen.
    const ids = new Set<string>();
    await waitUntil(
      async () => {
        ids.add((await get(port, '/seen')).id);
        return ids.size === 2;
      },
      10_000,
      `two workers answering (seen ${[...ids]})`,
      0,
    );
    const { by } = await get(port, '/bcast?msg=hello');
    // The other worker has it once the master relayed it: asked until both saw it.
    const views = new Map<string, any[]>();
    await waitUntil(
      async () => {
        const r = await get(port, '/seen');
        views.set(r.id, r.seen);
        return views.size === 2 && [...views.values()].every((v) => v.length > 0);
      },
      10_000,
      'the broadcast seen by both workers',
      10,
    );
    for (const [id, seen] of views) {
      assert.deepEqual(seen, [{ msg: 'hello', sender: by, remote: id !== by }], `worker ${id}`);
    }
  } finally {
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : once(child, 'exit', 5000, 'the server stopping');
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    await exited.catch(() => undefined);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});
