import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, get, killAll, waitUntil } from '../../test-support/process-helpers.js';
import { getOn } from '../../test-support/process-target.js';

after(killAll);

/** A GET that lands on the worker `id`. */
async function on(port: number, id: string, urlPath: string): Promise<any> {
  return (await getOn(port, id, urlPath)).json;
}

test(
  'setlu in one worker is what getlu returns in the other right after; model-changed reaches every worker',
  { timeout: 30_000 },
  async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    const zero = await on(server.port, 'W1', '/getlu?key=k1');
    assert.equal(zero.time, 0, 'never set');
    const set = await on(server.port, 'W0', '/setlu?key=k1');
    assert.equal(set.id, 'W0');
    assert.ok(Math.abs(set.time - Date.now()) < 5000);
    const seen = await on(server.port, 'W1', '/getlu?key=k1');
    assert.equal(seen.id, 'W1');
    assert.equal(seen.time, set.time, 'the same time in the other worker at once');
    // The latest of several keys; k2 never set.
    const both = await on(server.port, 'W1', '/getlu?key=k1&key=k2');
    assert.equal(both.time, set.time);
    // A second set is strictly later, even within the same millisecond.
    const again = await on(server.port, 'W1', '/setlu?key=k1');
    assert.ok(again.time > set.time);
    assert.equal((await on(server.port, 'W0', '/getlu?key=k1')).time, again.time);
    // An undeclared key is an error (500 from the handler).
    assert.equal((await get(server.port, '/getlu?key=nope')).status, 500);

    const events = await waitUntil(
      async () => {
        const r = await on(server.port, 'W1', '/received');
        const got = r.received.filter((e: any) => e.event.startsWith('model-changed'));
        return got.length >= 4 ? got : undefined;
      },
      15_000,
      'model-changed events in W1',
    );
    assert.deepEqual(events[0], { event: 'model-changed:k1', args: ['arg'], from: 'W0' });
    assert.deepEqual(events[1], { event: 'model-changed', args: ['k1', 'arg'], from: 'W0' });
    assert.deepEqual(events[2], { event: 'model-changed:k1', args: ['arg'], from: 'W1' });
    process.kill(server.pid, 'SIGTERM');
    assert.equal((await server.exited).code, 0);
  },
);

test('broadcast reaches every worker once, the sender included', { timeout: 30_000 }, async () => {
  const server = await startServer({ args: ['--workers', '2'] });
  await on(server.port, 'W0', '/broadcast?event=hello&n=42');
  for (const id of ['W0', 'W1']) {
    const got = await waitUntil(
      async () => {
        const r = await on(server.port, id, '/received');
        const hello = r.received.filter((e: any) => e.event === 'hello');
        return hello.length > 0 ? hello : undefined;
      },
      15_000,
      `the broadcast in ${id}`,
    );
    assert.deepEqual(got, [{ event: 'hello', args: [42], from: 'W0' }]);
  }
  process.kill(server.pid, 'SIGTERM');
  assert.equal((await server.exited).code, 0);
});

test('sendTo reaches one worker only, not the sender', { timeout: 30_000 }, async () => {
  const server = await startServer({ args: ['--workers', '2'] });
  const sent = await on(server.port, 'W0', '/sendto?to=W1&event=direct&n=7');
  assert.equal(sent.sent, true);
  const got = await waitUntil(
    async () => {
      const r = await on(server.port, 'W1', '/received');
      const direct = r.received.filter((e: any) => e.event === 'direct');
      return direct.length > 0 ? direct : undefined;
    },
    15_000,
    'the message in W1',
  );
  assert.deepEqual(got, [{ event: 'direct', args: [7], from: 'W0' }]);
  const w0 = await on(server.port, 'W0', '/received');
  assert.equal(w0.received.filter((e: any) => e.event === 'direct').length, 0, 'not to the sender');
  // To itself: delivered at once.
  assert.equal((await on(server.port, 'W0', '/sendto?to=W0&event=self')).sent, true);
  process.kill(server.pid, 'SIGTERM');
  assert.equal((await server.exited).code, 0);
});
