// Head and body-silence timeouts of a second or more (the 30 s default): one sweep every 250 ms
// checks the attempts in flight, instead of a setTimeout/clearTimeout per proxied request for
// the head and a fresh undici timer per request for the body (a timer object, a timer list
// insert and removal each). Such a timeout fires at most one sweep late, never early; shorter
// ones keep timers of their own. The sweep runs only while some attempt is in flight.

/** An attempt waiting for its head: kept in an intrusive list (no Set, no hashing per request). */
export interface Waiting {
  /** The sweep at which it times out. */
  deadline: number;
  prev: Waiting | undefined;
  next: Waiting | undefined;
  /** Whether it is in the list. */
  watched: boolean;
  timedOut(): void;
}

export const SWEEP_MS = 250;
/** Timeouts from this long on are swept; shorter ones get a timer. */
export const SWEPT_FROM_MS = 1000;

let head: Waiting | undefined = undefined;
let sweeps = 0;
let sweeper: NodeJS.Timeout | undefined = undefined;

/** Times `w` out after `ms` (>= SWEPT_FROM_MS) or up to one sweep later. */
export function watch(w: Waiting, ms: number): void {
  // The next sweep may come at once: one more sweep than the whole ones in `ms`.
  w.deadline = sweeps + Math.ceil(ms / SWEEP_MS) + 1;
  if (w.watched) return;
  w.prev = undefined;
  w.next = head;
  if (head !== undefined) head.prev = w;
  head = w;
  w.watched = true;
  if (sweeper === undefined) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

/** Moves the deadline of a watched `w` to `ms` from now (progress on it). */
export function renew(w: Waiting, ms: number): void {
  w.deadline = sweeps + Math.ceil(ms / SWEEP_MS) + 1;
}

export function unwatch(w: Waiting): void {
  if (!w.watched) return;
  w.watched = false;
  const { prev, next } = w;
  if (prev === undefined) head = next;
  else prev.next = next;
  if (next !== undefined) next.prev = prev;
  w.prev = w.next = undefined;
}

function sweep(): void {
  const now = ++sweeps;
  let w = head;
  while (w !== undefined) {
    const next = w.next;
    if (w.deadline <= now) {
      unwatch(w);
      w.timedOut();
      // What it did may have taken its neighbour out of the list too: walk again from the top.
      if (next !== undefined && !next.watched) {
        w = head;
        continue;
      }
    }
    w = next;
  }
  // Idle: stop sweeping until the next attempt waits.
  if (head === undefined && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}
