// Waiting in tests. Prefer an event (a message, a log line, 'exit'); these are for what has
// none: another process's file or state, polled.

/** A plain delay: for tests of time itself, or pacing load, never to let something happen. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every `step` ms until it returns a truthy value (returned); throws after `ms`,
 * naming `what` and the last error `check` threw.
 */
export async function waitUntil<T>(check: () => T | Promise<T>, ms: number, what: string, step = 50): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) { last = err; }
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(step);
  }
}
