import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  FIXTURES,
  get,
  waitUntil,
  pidAlive,
  processTitle,
  tempDir,
  workersSeen,
} from '../../test-support/process-helpers.js';

const dir = tempDir('skitai-daemon-');
const pidFile = path.join(dir, 'server.pid');
const outFile = path.join(dir, 'server.out');

function verb(...args: string[]): Promise<{ code: number; out: string }> {
  return verbWith('2', ...args);
}

function verbWith(workers: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(FIXTURES, 'server.mjs'), ...args],
      {
        env: { ...process.env, FX_VARPATH: dir, FX_WORKERS: workers },
        timeout: 40_000,
      },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 99) : 0,
          out: stdout + stderr,
        });
      },
    );
  });
}

const readPid = () => Number(fs.readFileSync(pidFile, 'utf8').trim());

/** The daemon's port: the last "workers listening" line of its console output. */
function port(): number {
  const all = [...fs.readFileSync(outFile, 'utf8').matchAll(/master: 2 workers listening on http:\/\/[^\s]+:(\d+)/g)];
  return Number(all[all.length - 1]![1]);
}

after(() => {
  try {
    process.kill(-readPid(), 'SIGKILL');
  } catch {
    /* not running */
  }
});

test('daemon verbs: status, start, start again, restart, stop', { timeout: 90_000 }, async () => {
  let r = await verb('status');
  assert.equal(r.code, 3);
  assert.match(r.out, /skitai\(server\.mjs\): stopped/);

  r = await verb('start');
  assert.equal(r.code, 0, r.out);
  const first = readPid();
  assert.match(r.out, new RegExp(`started \\(pid ${first}\\)`));
  assert.match(processTitle(first), /^skitai\(server\.mjs\): master/);
  const seen = await workersSeen(port(), 8);
  assert.deepEqual([...seen.keys()].sort(), ['W0', 'W1']);

  r = await verb('-d');
  assert.equal(r.code, 1);
  assert.match(r.out, new RegExp(`already running \\(pid ${first}\\)`));

  r = await verb('status');
  assert.equal(r.code, 0);
  assert.match(r.out, new RegExp(`running \\(pid ${first}\\)`));

  r = await verb('restart');
  assert.equal(r.code, 0, r.out);
  const second = readPid();
  assert.notEqual(second, first);
  assert.ok(!pidAlive(first));
  for (const pid of seen.values()) assert.ok(!pidAlive(pid), 'the old workers are gone');
  assert.equal((await get(port(), '/id')).status, 200);

  r = await verb('-s');
  assert.equal(r.code, 0);
  assert.match(r.out, new RegExp(`stopped \\(pid ${second}\\)`));
  assert.ok(!fs.existsSync(pidFile));
  assert.ok(!pidAlive(second));

  r = await verb('stop');
  assert.equal(r.code, 0);
  assert.match(r.out, /not running/);
});

test('a stale pid file is detected: status says stopped, start replaces it', { timeout: 60_000 }, async () => {
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => dead.once('exit', r));
  fs.writeFileSync(pidFile, `${dead.pid}\n`);
  let r = await verb('status');
  assert.equal(r.code, 3);
  assert.match(r.out, new RegExp(`stopped \\(stale pid file .* for pid ${dead.pid}\\)`));

  // A live process that is not ours (pid reused) is stale too.
  fs.writeFileSync(pidFile, `${process.pid}\n`);
  r = await verb('status');
  assert.equal(r.code, 3);

  r = await verb('start');
  assert.equal(r.code, 0, r.out);
  const pid = readPid();
  assert.notEqual(pid, process.pid);
  await waitUntil(async () => (await get(port(), '/id')).status === 200, 5000, 'the daemon serves');
  r = await verb('stop');
  assert.equal(r.code, 0);
  assert.ok(!pidAlive(pid));
});

test('a daemon with one worker: one process, pid file, stop', { timeout: 60_000 }, async () => {
  let r = await verbWith('1', 'start');
  assert.equal(r.code, 0, r.out);
  const pid = readPid();
  const all = [...fs.readFileSync(outFile, 'utf8').matchAll(/\(M\) listening on http:\/\/[^\s]+:(\d+)/g)];
  const reply = await get(Number(all[all.length - 1]![1]), '/id');
  assert.deepEqual(reply.json, { id: 'M', pid });
  r = await verbWith('1', 'status');
  assert.equal(r.code, 0);
  r = await verbWith('1', 'stop');
  assert.equal(r.code, 0);
  assert.ok(!pidAlive(pid));
  assert.ok(!fs.existsSync(pidFile));
});
