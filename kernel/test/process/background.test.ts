import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer,
  killAll,
  waitUntil,
  pidAlive,
  processTitle,
  childPids,
  tempDir,
  workersSeen,
} from '../../test-support/process-helpers.js';

after(killAll);

const pidsIn = (file: string) =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];

test(
  'a background process runs once under the master (not per worker), comes back after kill -9, stops with the server',
  { timeout: 40_000 },
  async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bg');
    const server = await startServer({ args: ['--workers', '2'], env: { FX_BG_FILE: file } });
    const workers = [...(await workersSeen(server.port)).values()];
    const first = await waitUntil(() => pidsIn(file)[0], 5000, 'the background process started');
    // A worker would start its own at boot, before it answered a request (workersSeen): its
    // log line would be in the output by now.
    assert.equal((server.output().match(/background process fixture-bg started/g) ?? []).length, 1, server.output());
    assert.equal(pidsIn(file).length, 1, 'started once, not once per worker');
    assert.match(processTitle(first), /^skitai\(server\.mjs\): fixture-bg/);
    assert.ok(childPids(server.pid).includes(first), 'a child of the master');
    for (const w of workers) assert.equal(childPids(w).length, 0, 'workers run no background process');

    process.kill(first, 'SIGKILL');
    const second = await waitUntil(() => pidsIn(file)[1], 5000, 'the background process restarted');
    assert.notEqual(second, first);
    assert.match(server.output(), /background process fixture-bg \(pid \d+\) exited \(SIGKILL\): restarting in 0\.3 s/);
    // Killed again at once: the backoff doubles.
    process.kill(second, 'SIGKILL');
    const third = await waitUntil(() => pidsIn(file)[2], 5000, 'restarted again');
    assert.match(server.output(), /exited \(SIGKILL\): restarting in 0\.6 s/);

    process.kill(server.pid, 'SIGTERM');
    assert.equal((await server.exited).code, 0);
    await waitUntil(() => !pidAlive(third), 3000, 'the background process stopped with the server');
  },
);

test(
  'a single process (one worker) runs its background processes too, and stops them',
  { timeout: 30_000 },
  async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bg');
    const server = await startServer({ args: ['--workers', '1'], env: { FX_BG_FILE: file } });
    const pid = await waitUntil(() => pidsIn(file)[0], 5000, 'the background process started');
    assert.ok(childPids(server.pid).includes(pid));
    process.kill(server.pid, 'SIGTERM');
    assert.equal((await server.exited).code, 0);
    await waitUntil(() => !pidAlive(pid), 3000, 'stopped with the server');
  },
);
