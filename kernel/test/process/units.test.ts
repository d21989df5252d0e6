import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kernel, RestartPolicy, LuStore, readPidFile } from '@skitai/kernel';

test('RestartPolicy: backoff doubles, is capped, and the limit per period defers the next start', () => {
  const p = new RestartPolicy({ baseDelay: 100, maxDelay: 1000, limit: 3, period: 10_000 });
  const t = 1_000_000;
  assert.deepEqual(p.died(t), { delay: 100, limited: false, recent: 1 });
  assert.deepEqual(p.died(t + 1), { delay: 200, limited: false, recent: 2 });
  assert.deepEqual(p.died(t + 2), { delay: 400, limited: false, recent: 3 });
  // Fourth death within the period: wait until the first leaves the window.
  const fourth = p.died(t + 3);
  assert.equal(fourth.limited, true);
  assert.equal(fourth.delay, 10_000 - 3);
  // Deaths older than the period no longer count.
  assert.deepEqual(p.died(t + 30_000), { delay: 100, limited: false, recent: 1 });
});

test('LuStore in memory: 0 before a set, strictly increasing, latest of several keys, undeclared key refused', () => {
  const lu = new LuStore();
  lu.add('a', '', 'b');
  assert.deepEqual(lu.keys(), ['a', 'b']);
  assert.equal(lu.get('a'), 0);
  const t1 = lu.set('a');
  const t2 = lu.set('a');
  assert.ok(t2 > t1);
  assert.equal(lu.get('a', 'b'), t2);
  assert.throws(() => lu.get('zzz'), { code: 'SKT_LU_KEY' });
  assert.throws(() => lu.set('zzz'), { code: 'SKT_LU_KEY' });
});

test('LuStore shared: two stores on one file see each other at once; keys are fixed once shared', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-lu-')), 'lu');
  const master = new LuStore();
  master.add('x', 'y');
  master.createShared(file);
  const w0 = new LuStore();
  w0.add('x', 'y');
  w0.attachShared(file);
  const w1 = new LuStore();
  w1.add('x', 'y');
  w1.attachShared(file);
  const t = w0.set('y');
  assert.equal(w1.get('y'), t);
  assert.equal(w1.get('x'), 0);
  assert.ok(w1.set('y') > t);
  assert.equal(w0.get('x', 'y'), w1.get('y'));
  assert.throws(() => w1.add('late'), { code: 'SKT_LU_KEY' });
  for (const s of [master, w0, w1]) s.detach();
});

test('kernel: setlu emits model-changed events to onBroadcast listeners in a single process', () => {
  const kernel = new Kernel();
  assert.equal(kernel.processRole, 'single');
  kernel.addlu('users');
  const got: unknown[] = [];
  const off = kernel.onBroadcast((event, args, from) => got.push([event, args, from]));
  const t = kernel.setlu('users', 7);
  assert.equal(kernel.getlu('users'), t);
  assert.deepEqual(got, [
    ['model-changed:users', [7], 'M'],
    ['model-changed', ['users', 7], 'M'],
  ]);
  off();
  kernel.broadcast('after');
  assert.equal(got.length, 2);
  assert.equal(kernel.sendTo('M', 'self', 1), true);
  assert.equal(kernel.sendTo('W3', 'nobody'), false);
});

test('kernel: option checks for the critical point and background processes', () => {
  const kernel = new Kernel();
  assert.throws(() => kernel.setWorkerCriticalPoint({ cpuPercent: 0 }), { code: 'SKT_INVALID_OPTION' });
  assert.throws(() => kernel.setWorkerCriticalPoint({ continuous: 1.5 }), { code: 'SKT_INVALID_OPTION' });
  kernel.setWorkerCriticalPoint({ interval: 0 });
  assert.equal(kernel.processModel.criticalPoint, undefined, 'interval 0 is off');
  kernel.setWorkerCriticalPoint();
  assert.deepEqual(kernel.processModel.criticalPoint, { cpuPercent: 90, continuous: 3, interval: 20, cooldown: 60 });
  kernel.registerProcess('one', './one.mjs');
  assert.throws(() => kernel.registerProcess('one', './other.mjs'), { code: 'SKT_PROCESS_DUPLICATE' });
  assert.equal(kernel.processModel.processes.get('one')!.entry, kernel.abspath('one.mjs'));
});

test('readPidFile: none, stale (garbage, a dead pid, a live process that is not ours), running', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-pid-'));
  const file = path.join(dir, 'x.pid');
  assert.deepEqual(readPidFile(file), { state: 'none' });
  fs.writeFileSync(file, 'garbage');
  assert.equal(readPidFile(file).state, 'stale');
  const other = spawn('sleep', ['5']);
  try {
    fs.writeFileSync(file, `${other.pid}\n`);
    assert.deepEqual(readPidFile(file), { state: 'stale', pid: other.pid });
  } finally {
    other.kill('SIGKILL');
  }
  await new Promise((r) => other.once('exit', r));
  // This process runs the script this module sees as the startup script: ours.
  fs.writeFileSync(file, `${process.pid}\n`);
  assert.deepEqual(readPidFile(file), { state: 'running', pid: process.pid });
});
