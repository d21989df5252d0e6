// Whole-call timeouts of a second or more: one sweep every 250 ms checks the calls in flight,
// instead of a timer per call. node's setTimeout and clearTimeout cost a timer list, a read of
// libuv's clock and, when calls come one at a time, a list made and dropped per call. Such a
// timeout fires at most one sweep late, never early; shorter ones keep a timer of their own.

/** A call with a deadline: kept in an intrusive list (no Set, no hashing per call). */
export interface Timed {
  /** The sweep at which it times out. */
  deadline: number;
  prev: Timed | undefined;
  next: Timed | undefined;
  /** Whether it is in the list. */
  watched: boolean;
  timedOut(): void;
}

export const SWEEP_MS = 250;
/** Timeouts from this long on are swept; shorter ones get a timer. */
export const SWEPT_FROM_MS = 1000;

let head: Timed | undefined = undefined;
let sweeps = 0;
let sweeper: NodeJS.Timeout | undefined = undefined;

/** Times `t` out after `ms` (>= SWEPT_FROM_MS) or up to one sweep later. */
export function watch(t: Timed, ms: number): void {
  // The next sweep may come at once: one more sweep than the whole ones in `ms`.
  t.deadline = sweeps + Math.ceil(ms / SWEEP_MS) + 1;
  t.prev = undefined;
  t.next = head;
  if (head !== undefined) head.prev = t;
  head = t;
  t.watched = true;
  if (sweeper === undefined) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

export function unwatch(t: Timed): void {
  if (!t.watched) return;
  t.watched = false;
  const { prev, next } = t;
  if (prev === undefined) head = next;
  else prev.next = next;
  if (next !== undefined) next.prev = prev;
  t.prev = t.next = undefined;
}

function sweep(): void {
  const now = ++sweeps;
  let t = head;
  while (t !== undefined) {
    const next = t.next;
    if (t.watched && t.deadline <= now) {
      unwatch(t);
      t.timedOut();
    }
    t = next;
  }
  // Idle: stop sweeping until the next call.
  if (head === undefined && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}
