// Call deadlines for backend calls (HTTP here, SQL statements in @skitai/db): a call that has
// not answered by its deadline times out once; one that answered is never timed out.
//
// Deadlines of a second or more are swept: one timer every 250 ms walks the calls in flight
// (an intrusive list, so watching and unwatching a call is a few field writes: no timer, no
// clock read, no allocation, no Set hashing). Such a call times out never early, and late by
// at most its rounding up to whole sweeps plus one sweep (under 500 ms; a whole number of
// sweeps, such as the 10 s default, at most 250 ms). node's setTimeout and clearTimeout per call cost a timer list, a read of libuv's
// clock and, when calls come one at a time, a list made and dropped per call; a single timer
// re-armed for the earliest deadline (tried for SQL) still needs a clock read, an object and a
// Set entry per call. Shorter deadlines, where a quarter of a second would matter, get a timer
// of their own, so they are exact.

/**
 * A call with a deadline. The fields are the deadlines' own (set by watchDeadline, read by
 * clearDeadline): an implementer declares them with these initial values and leaves them be.
 * `timedOut()` runs once, when the deadline passed first.
 */
export interface Deadline {
  /** The sweep at which it times out (swept deadlines). */
  deadlineSweep: number;
  deadlinePrev: Deadline | undefined;
  deadlineNext: Deadline | undefined;
  /** Its own timer (short deadlines). */
  deadlineTimer: NodeJS.Timeout | undefined;
  /** Whether it is watched. */
  deadlineWatched: boolean;
  timedOut(): void;
}

/** A base class with the Deadline fields, for a call that extends nothing else. */
export abstract class Timed implements Deadline {
  deadlineSweep = 0;
  deadlinePrev: Deadline | undefined = undefined;
  deadlineNext: Deadline | undefined = undefined;
  deadlineTimer: NodeJS.Timeout | undefined = undefined;
  deadlineWatched = false;
  abstract timedOut(): void;
}

/** How often the swept deadlines are checked. */
export const DEADLINE_SWEEP_MS = 250;
/** Deadlines from this long on are swept; shorter ones get a timer. */
export const SWEPT_FROM_MS = 1000;

let head: Deadline | undefined = undefined;
let sweeps = 0;
let sweeper: NodeJS.Timeout | undefined = undefined;
/** Calls watched now, swept or timed. */
let live = 0;

/**
 * Watches `d`: its timedOut() runs once `ms` have passed (swept ones up to 500 ms later),
 * unless clearDeadline(d) came first. `ms` must be > 0; `d` must not be watched already.
 */
export function watchDeadline(d: Deadline, ms: number): void {
  d.deadlineWatched = true;
  live++;
  if (ms < SWEPT_FROM_MS) {
    // The call's own socket keeps the process alive while it waits, not its deadline.
    d.deadlineTimer = setTimeout(expire, ms, d);
    d.deadlineTimer.unref();
    return;
  }
  // The next sweep may come at once: one more sweep than the whole ones in `ms`.
  d.deadlineSweep = sweeps + Math.ceil(ms / DEADLINE_SWEEP_MS) + 1;
  d.deadlinePrev = undefined;
  d.deadlineNext = head;
  if (head !== undefined) head.deadlinePrev = d;
  head = d;
  if (sweeper === undefined) armSweep();
}

// A timer re-armed after each sweep while calls are in flight (not setInterval: the same cost
// every 250 ms, and node 20's mocked timers cannot clear an interval from its own callback).
function armSweep(): void {
  sweeper = setTimeout(sweep, DEADLINE_SWEEP_MS);
  sweeper.unref();
}

/** The call answered (or gave up): true when it did so in time, false when it had timed out or was not watched. */
export function clearDeadline(d: Deadline): boolean {
  if (!d.deadlineWatched) return false;
  d.deadlineWatched = false;
  live--;
  const timer = d.deadlineTimer;
  if (timer !== undefined) {
    d.deadlineTimer = undefined;
    clearTimeout(timer);
    return true;
  }
  const { deadlinePrev: prev, deadlineNext: next } = d;
  if (prev === undefined) head = next;
  else prev.deadlineNext = next;
  if (next !== undefined) next.deadlinePrev = prev;
  d.deadlinePrev = d.deadlineNext = undefined;
  return true;
}

/**
 * Moves a watched deadline to `ms` from now: progress on a long call (a body still arriving)
 * keeps it alive. Nothing happens when `d` is not watched.
 */
export function renewDeadline(d: Deadline, ms: number): void {
  if (!d.deadlineWatched) return;
  if (d.deadlineTimer === undefined) d.deadlineSweep = sweeps + Math.ceil(ms / DEADLINE_SWEEP_MS) + 1;
  else {
    clearDeadline(d);
    watchDeadline(d, ms);
  }
}

/** Calls watched now (a test's check that none is left behind). */
export function deadlinesWatched(): number {
  return live;
}

function expire(d: Deadline): void {
  d.deadlineTimer = undefined;
  if (!d.deadlineWatched) return;
  d.deadlineWatched = false;
  live--;
  d.timedOut();
}

function sweep(): void {
  sweeper = undefined;
  const now = ++sweeps;
  let d = head;
  while (d !== undefined) {
    // Read before timedOut(), which may unwatch others (then `next` is taken again below).
    const next = d.deadlineNext;
    if (d.deadlineSweep <= now) {
      clearDeadline(d);
      d.timedOut();
      // timedOut() may have unwatched the next one too: start again from the head then.
      d = next !== undefined && !next.deadlineWatched ? head : next;
    } else d = next;
  }
  // Idle: no sweep until the next call. (A timedOut() that watched a call armed it already.)
  if (head !== undefined && sweeper === undefined) armSweep();
}
