// Call timeouts as one timer for every call in flight instead of one timer per call: a call
// adds its deadline to a set and takes it out when it answers; the one timer is armed for the
// earliest deadline and, when it fires, expires what is due and re-arms for the next one. Calls
// with the same timeout end in the order they started, so under steady load the timer is
// re-armed about once per timeout, not once per call (a setTimeout and clearTimeout per query,
// on the timer list's priority queue, were ~2k instructions of a one-row SELECT).
import { performance } from 'node:perf_hooks';

/** A call waiting for its answer, until `at` (performance.now() ms: a clock that never jumps). */
export class Deadline {
  constructor(
    readonly at: number,
    readonly expire: () => void,
  ) {}
}

const pending = new Set<Deadline>();
let timer: NodeJS.Timeout | undefined;
let armedFor = Infinity;

function arm(at: number, now: number): void {
  if (timer !== undefined) clearTimeout(timer);
  armedFor = at;
  // Rounded up: node's timers count whole milliseconds (one firing early only re-arms).
  timer = setTimeout(sweep, Math.max(1, Math.ceil(at - now)));
  // The call's own connection keeps the process alive while it waits, not this timer.
  timer.unref();
}

function sweep(): void {
  timer = undefined;
  armedFor = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const d of pending) {
    if (d.at <= now) {
      pending.delete(d);
      d.expire();
    } else if (d.at < next) next = d.at;
  }
  // An expire() may have added calls (and armed the timer for them): arm for the earliest left.
  if (next < armedFor) arm(next, now);
}

/** Watches a call: `expire` runs once `ms` have passed, unless settle() came first. */
export function watch(ms: number, expire: () => void): Deadline {
  const now = performance.now();
  const d = new Deadline(now + ms, expire);
  pending.add(d);
  if (d.at < armedFor) arm(d.at, now);
  return d;
}

/** The call answered: true when it did so in time (its deadline had not expired). */
export function settle(d: Deadline): boolean {
  return pending.delete(d);
}

/** Calls watched now (for tests). */
export function watching(): number {
  return pending.size;
}
