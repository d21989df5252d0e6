import { executionAsyncResource } from 'node:async_hooks';
import process from 'node:process';

// node builds each process.nextTick entry with an object literal whose first keys are
// computed (two symbols). V8's feedback for those keys holds the literal's hidden classes
// weakly: when no tick object is alive at a full GC (V8's memory reducer runs one after some
// seconds of idle), the classes die with them and the feedback turns megamorphic for the
// rest of the process's life. Every nextTick (several per request) then defines each key
// through a runtime call: 9-10 % of a hello server's CPU under load in `perf record`. One
// tick object kept for the life of the process keeps the hidden classes, so the feedback,
// alive. Checked on node's feedback itself by test/http/tick-shape.test.ts.

let scheduled = false;
let kept: object | undefined;

/** Keeps one process.nextTick entry alive for the life of the process (once per process). */
export function keepTickShape(): void {
  if (scheduled) return;
  scheduled = true;
  process.nextTick(() => {
    kept = executionAsyncResource();
  });
}

/** The tick object kept (undefined until the tick has run): for the test. */
export function keptTick(): object | undefined {
  return kept;
}
