// The call deadlines (one timer for every call in flight): a deadline expires once, never
// before its time, not at all when its call answered first; a shorter one added later is not
// held up by a longer one armed before it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { settle, watch, watching } from '../src/deadlines.js';

// The deadlines' timer is unref'd (a call's connection keeps a process alive, not the timer):
// here nothing else would, so a handle holds the event loop open while the tests wait.
let hold: NodeJS.Timeout;
before(() => {
  hold = setInterval(() => undefined, 60_000);
});
after(() => clearInterval(hold));

/** Resolves with the time expire() ran, for a deadline of `ms`. */
function expiry(ms: number): { at: Promise<number>; settle: () => boolean; started: number } {
  let done!: (t: number) => void;
  const at = new Promise<number>((r) => (done = r));
  const started = performance.now();
  let calls = 0;
  const d = watch(ms, () => {
    calls++;
    assert.equal(calls, 1, 'expire() runs once');
    done(performance.now());
  });
  return { at, settle: () => settle(d), started };
}

test('a deadline expires once, not before its time; settle() after it says false', async () => {
  const a = expiry(30);
  const t = await a.at;
  assert.ok(t - a.started >= 30, `expired after ${t - a.started} ms`);
  assert.equal(a.settle(), false, 'the call answered too late');
  assert.equal(watching(), 0);
});

test('a call that answers in time is never expired', async () => {
  const expired: number[] = [];
  const d = watch(20, () => expired.push(1));
  assert.equal(settle(d), true);
  assert.equal(settle(d), false, 'settled once');
  // A later deadline expiring shows the timer ran past the settled one's time.
  const later = expiry(40);
  await later.at;
  assert.deepEqual(expired, []);
  assert.equal(watching(), 0);
});

test('a short deadline added after a long one expires on its own time; both expire, in order', async () => {
  const long = expiry(400);
  const short = expiry(20);
  const first = await Promise.race([long.at.then(() => 'long'), short.at.then(() => 'short')]);
  assert.equal(first, 'short');
  const shortAt = await short.at;
  assert.ok(shortAt - short.started < 400, `the short one waited ${shortAt - short.started} ms`);
  const longAt = await long.at;
  assert.ok(longAt - long.started >= 400);
  assert.equal(watching(), 0);
});

test('deadlines added from an expire() and many at once all expire', async () => {
  const chained = new Promise<void>((resolve) => {
    watch(10, () => {
      watch(10, resolve);
    });
  });
  const many = Array.from({ length: 50 }, (_, i) => expiry(5 + (i % 7)));
  await chained;
  await Promise.all(many.map((e) => e.at));
  assert.equal(watching(), 0);
});
