import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../test-support/app-workers.js', import.meta.url));

function get(port: number, path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

test('was.broadcast reaches the apps of every worker', { timeout: 30000 }, async () => {
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { out += c; });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${out}`)), 15000);
      const check = () => {
        const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
    });
    // Both workers up: ids seen.
    const ids = new Set<string>();
    for (let i = 0; i < 200 && ids.size < 2; i++) {
      ids.add((await get(port, '/seen')).id);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(ids.size, 2, `two workers answered: ${[...ids]}`);
    const { by } = await get(port, '/bcast?msg=hello');
    const views = new Map<string, any[]>();
    for (let i = 0; i < 200 && (views.size < 2 || [...views.values()].some((v) => v.length === 0)); i++) {
      const r = await get(port, '/seen');
      views.set(r.id, r.seen);
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(views.size, 2);
    for (const [id, seen] of views) {
      assert.deepEqual(seen, [{ msg: 'hello', sender: by, remote: id !== by }], `worker ${id}`);
    }
  } finally {
    try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
    await new Promise((r) => setTimeout(r, 300));
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
  }
});
