// node's process.nextTick loses its feedback for the tick object's keys at a full GC that finds
// no tick object alive (the kernel keeps one: see src/http/tick-shape.ts). Read here from V8's
// own feedback (%DebugPrint, in a child node with --allow-natives-syntax), so the test fails
// both when the kernel stops keeping the shape and when node no longer needs it; and that
// Kernel.start() keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { keptTick } from '../../src/http/tick-shape.js';
import { startKernel } from '../../test-support/http.js';

const moduleUrl = pathToFileURL(path.resolve(import.meta.dirname, '../../src/http/tick-shape.js')).href;

/** The states of nextTick's DefineKeyedOwnPropertyInLiteral slots after two full GCs. */
function literalFeedbackAfterGc(keep: boolean): string[] {
  const script = `
    import { keepTickShape, keptTick } from ${JSON.stringify(moduleUrl)};
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    if (${keep}) keepTickShape();
    for (let i = 0; i < 100; i++) process.nextTick(() => {});
    await turn();
    if (${keep} && keptTick() === undefined) throw new Error('no tick object kept');
    // No tick object in flight now: the full GCs V8's memory reducer runs on an idle server.
    gc();
    gc({ type: 'major' });
    for (let i = 0; i < 10; i++) process.nextTick(() => {});
    await turn();
    %DebugPrint(process.nextTick);
  `;
  // %DebugPrint writes with C stdio to fd 1, which node makes non-blocking when it is a pipe:
  // a full pipe drops the rest. A file takes it all.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-tick-'));
  const file = path.join(dir, 'stdout');
  const fd = fs.openSync(file, 'w');
  try {
    const out = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', script],
      { encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] },
    );
    assert.equal(out.status, 0, out.stderr);
    const printed = fs.readFileSync(file, 'utf8');
    return [...printed.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]!);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('without a kept tick object, a full GC turns nextTick megamorphic (the trap is still in this node)', () => {
  const states = literalFeedbackAfterGc(false);
  assert.ok(states.length > 0, 'nextTick has no computed-key literal feedback: read its source again');
  assert.ok(
    states.includes('MEGAMORPHIC'),
    `node kept nextTick's feedback by itself (${states.join(', ')}): keepTickShape may be removed`,
  );
});

test('with keepTickShape, the same GCs leave every key of the tick object monomorphic', () => {
  const states = literalFeedbackAfterGc(true);
  assert.ok(states.length > 0);
  assert.deepEqual(
    states.filter((s) => s !== 'MONOMORPHIC'),
    [],
    states.join(', '),
  );
});

test('Kernel.start() keeps the tick object, before its first request', async () => {
  assert.equal(keptTick(), undefined, 'nothing in this process kept one before');
  const started = await startKernel((kernel) => kernel.mount('/', (_req, res) => res.end('ok')));
  try {
    await new Promise((resolve) => setImmediate(resolve));
    const kept = keptTick();
    assert.ok(kept !== undefined, 'start() kept no tick object');
    assert.deepEqual(Object.keys(kept!).slice(0, 2), ['callback', 'args'], 'a process.nextTick entry');
  } finally {
    await started.stop();
  }
});
