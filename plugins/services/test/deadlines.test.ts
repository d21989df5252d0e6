// Call deadlines (deadlines.ts), driven by node's mocked timers: a deadline times out once,
// never before its time (a swept one at most one sweep late), not at all when its call answered
// first; calls added or answered from a timedOut() are handled; nothing is left watched.
import { beforeEach, afterEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clearDeadline,
  deadlinesWatched,
  DEADLINE_SWEEP_MS,
  renewDeadline,
  SWEPT_FROM_MS,
  Timed,
  watchDeadline,
  type Deadline,
} from '@skitai/services';

let now = 0;
beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout'] });
  now = 0;
});
afterEach(() => {
  // A sweep left armed with nothing to watch ends itself (a reset would strand it).
  mock.timers.tick(DEADLINE_SWEEP_MS);
  mock.timers.reset();
  assert.equal(deadlinesWatched(), 0, 'no deadline left behind');
});

/** Moves the mocked clock by `ms`, one millisecond at a time (each timer fires on its own ms). */
function tick(ms: number): void {
  for (let i = 0; i < ms; i++) {
    now++;
    mock.timers.tick(1);
  }
}

class Call extends Timed {
  firedAt: number[] = [];
  constructor(readonly then?: () => void) {
    super();
  }
  timedOut(): void {
    this.firedAt.push(now);
    this.then?.();
  }
}

test('the module is the one @skitai/services exports: a second or more is swept every 250 ms', () => {
  assert.equal(SWEPT_FROM_MS, 1000);
  assert.equal(DEADLINE_SWEEP_MS, 250);
});

test('a short deadline fires once, on time; clearDeadline after it says false', () => {
  const c = new Call();
  watchDeadline(c, 300);
  tick(299);
  assert.deepEqual(c.firedAt, []);
  tick(1);
  assert.deepEqual(c.firedAt, [300]);
  tick(2000);
  assert.deepEqual(c.firedAt, [300], 'once');
  assert.equal(clearDeadline(c), false, 'the call answered too late');
});

/** How late a swept deadline of `ms` may fire: rounded up to whole sweeps, plus the sweep under way. */
const slack = (ms: number) => Math.ceil(ms / DEADLINE_SWEEP_MS) * DEADLINE_SWEEP_MS + DEADLINE_SWEEP_MS - ms;

test('a swept deadline fires once, never early, and late by its rounding to sweeps at most, whenever it starts', () => {
  for (const [offset, ms] of [
    [0, 1000],
    [1, 1000],
    [249, 1000],
    [130, 1001],
    [17, 2600],
    [0, 10_000],
  ] as const) {
    tick(offset);
    const c = new Call();
    const started = now;
    watchDeadline(c, ms);
    tick(ms - 1);
    assert.deepEqual(c.firedAt, [], `${ms} ms after ${offset}: not early`);
    tick(slack(ms) + 1);
    assert.equal(c.firedAt.length, 1, `${ms} ms after ${offset}: fired`);
    const late = c.firedAt[0]! - started - ms;
    assert.ok(late >= 0 && late <= slack(ms), `${ms} ms after ${offset}: ${late} ms late`);
    assert.ok(slack(ms) < 2 * DEADLINE_SWEEP_MS);
    tick(3 * DEADLINE_SWEEP_MS);
    assert.equal(c.firedAt.length, 1, 'once');
  }
});

test('a call that answers in time is never timed out (short or swept, first, middle or last of the list)', () => {
  const calls = Array.from({ length: 6 }, () => new Call());
  calls.forEach((c, i) => watchDeadline(c, i % 2 === 0 ? 500 : 1500));
  assert.equal(deadlinesWatched(), 6);
  // Swept ones at the list's head, middle and tail; one short one.
  for (const i of [5, 3, 1, 0]) assert.equal(clearDeadline(calls[i]!), true);
  assert.equal(clearDeadline(calls[0]!), false, 'cleared once');
  tick(2000);
  for (const i of [5, 3, 1, 0]) assert.deepEqual(calls[i]!.firedAt, []);
  assert.deepEqual(calls[2]!.firedAt, [500]);
  assert.deepEqual(calls[4]!.firedAt, [500]);
});

test('a short deadline added after a long one fires on its own time', () => {
  const long = new Call();
  const short = new Call();
  watchDeadline(long, 5000);
  watchDeadline(short, 20);
  tick(20);
  assert.deepEqual(short.firedAt, [20]);
  assert.deepEqual(long.firedAt, []);
  tick(5250);
  assert.equal(long.firedAt.length, 1);
});

test('a timedOut() that answers or adds calls: the sweep misses none and fires none early', () => {
  // Due at the same sweep, in list order c, b, a (newest first): c's timedOut() clears b (its
  // next) and watches d. a must still fire in that sweep; b never; d on its own time.
  const a = new Call();
  const b = new Call();
  const d = new Call();
  const c = new Call(() => {
    assert.equal(clearDeadline(b), true);
    watchDeadline(d, 1000);
  });
  for (const x of [a, b, c]) watchDeadline(x, 1000);
  tick(1250);
  assert.equal(c.firedAt.length, 1);
  assert.deepEqual(a.firedAt, c.firedAt, 'fired in the same sweep');
  assert.deepEqual(b.firedAt, []);
  const dStarted = c.firedAt[0]!;
  tick(1000 - (now - dStarted) - 1);
  assert.deepEqual(d.firedAt, [], 'not early');
  tick(DEADLINE_SWEEP_MS + 1);
  assert.equal(d.firedAt.length, 1);
  assert.ok(d.firedAt[0]! - dStarted >= 1000);
  // A timer-driven one that chains another short one.
  const last = new Call();
  const first = new Call(() => watchDeadline(last, 10));
  watchDeadline(first, 10);
  tick(20);
  assert.deepEqual([first.firedAt.length, last.firedAt.length], [1, 1]);
});

test('many calls at once, half answered: the others all fire, once', () => {
  const calls: Call[] = Array.from({ length: 200 }, () => new Call());
  calls.forEach((c, i) => watchDeadline(c, 1000 + (i % 7) * 100));
  calls.forEach((c, i) => i % 2 === 0 && clearDeadline(c));
  tick(2000);
  calls.forEach((c, i) => assert.equal(c.firedAt.length, i % 2 === 0 ? 0 : 1, `call ${i}`));
});

test('an object that is no Timed subclass carries the fields itself', () => {
  let fired = 0;
  const call: Deadline = {
    deadlineSweep: 0,
    deadlinePrev: undefined,
    deadlineNext: undefined,
    deadlineTimer: undefined,
    deadlineWatched: false,
    timedOut: () => fired++,
  };
  watchDeadline(call, 1000);
  tick(1500);
  assert.equal(fired, 1);
});

test('renewDeadline moves a deadline to its full length from now (swept and timed); unwatched, it does nothing', () => {
  const swept = new Call();
  watchDeadline(swept, 1000);
  const timed = new Call();
  watchDeadline(timed, 300);
  tick(200);
  renewDeadline(timed, 300);
  tick(299);
  assert.deepEqual(timed.firedAt, [], 'renewed at 200: not before 500');
  tick(1);
  assert.deepEqual(timed.firedAt, [500]);
  renewDeadline(swept, 1000);
  tick(999);
  assert.deepEqual(swept.firedAt, [], 'renewed at 500: not before 1500');
  tick(DEADLINE_SWEEP_MS + 1);
  assert.equal(swept.firedAt.length, 1, 'within a sweep after its renewed time');
  assert.ok(swept.firedAt[0] >= 1500 && swept.firedAt[0] <= 1500 + DEADLINE_SWEEP_MS, String(swept.firedAt[0]));
  renewDeadline(swept, 1000);
  renewDeadline(timed, 300);
  tick(2000);
  assert.equal(swept.firedAt.length + timed.firedAt.length, 2, 'not watched again by a renewal');
});
