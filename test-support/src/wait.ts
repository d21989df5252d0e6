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
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(step);
  }
}

/**
 * The arguments of the next `event` of `emitter`; fails after `ms` naming `what`, and on an
 * 'error' event before it (unless `event` is 'error').
 */
export function once<T extends unknown[] = unknown[]>(
  emitter: NodeJS.EventEmitter,
  event: string,
  ms: number,
  what = `'${event}'`,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      done();
      resolve(args as T);
    };
    const onError = (err: Error) => {
      done();
      reject(new Error(`${what}: 'error' before it: ${err.message}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: not within ${ms} ms`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event !== 'error') emitter.off('error', onError);
    };
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  });
}

/**
 * Reads `stream` (a child's stdout, a socket) as text until it matches `pattern`; resolves with
 * the match. Fails after `ms`, or when the stream ends first, with all the text read.
 */
export function waitForLine(stream: NodeJS.ReadableStream, pattern: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const m = text.match(pattern);
      if (m) {
        done();
        resolve(m);
      }
    };
    const onEnd = () => {
      done();
      reject(new Error(`${pattern} did not appear before the end; read:\n${text}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${pattern} did not appear within ${ms} ms; read:\n${text}`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}
