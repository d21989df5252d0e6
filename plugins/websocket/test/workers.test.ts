// Groupchat across 2 worker processes: rooms span workers through the master's messenger.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, sleep, waitUntil, withTimeout, type Client } from '../test-support/helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(here, '../../test-support/fixtures/chat-workers.mjs');

function worker(id: number): number {
  return Math.floor(id / 1_000_000_000) - 1;
}

describe('groupchat across workers', { timeout: 60_000 }, () => {
  let child: ChildProcess | undefined;
  let output = '';
  after(async () => {
    if (child && child.exitCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  test('a room spans 2 workers: enter, say, leave and a send to one client reach the other worker', async () => {
    child = spawn(process.execPath, [FIXTURE], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      cwd: path.dirname(FIXTURE),
    });
    const listening = new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /workers listening on http:\/\/[^\s]+:(\d+)/.exec(output);
        if (m) resolve(Number(m[1]));
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', onData);
      child!.once('exit', () => reject(new Error(`the server exited:\n${output}`)));
    });
    const port = await withTimeout(listening, 20_000, `2 workers listening (output: ${output})`);
    const url = `ws://127.0.0.1:${port}/chat`;

    // Connect until the room has members in both workers (the master hands connections out in turn).
    const clients: Array<{ c: Client; id: number }> = [];
    for (let i = 0; i < 12 && new Set(clients.map((x) => worker(x.id))).size < 2; i++) {
      const c = await open(`${url}?roomid=1&name=n${i}`);
      const first = JSON.parse(String(await c.nth(0)));
      assert.equal(first.type, 'enter');
      clients.push({ c, id: first.client });
    }
    const byWorker = new Map<number, { c: Client; id: number }>();
    for (const x of clients) if (!byWorker.has(worker(x.id))) byWorker.set(worker(x.id), x);
    assert.deepEqual([...byWorker.keys()].sort(), [0, 1], `clients in both workers: ${clients.map((x) => x.id)}`);
    const a = byWorker.get(0)!;
    const b = byWorker.get(1)!;
    const other = await open(`${url}?roomid=2&name=other`);
    await other.nth(0);

    // Enter messages crossed: the last client to join was announced to every earlier one.
    const last = clients[clients.length - 1]!;
    for (const x of clients.slice(0, -1)) {
      await waitUntil(
        () => x.c.messages.map((m) => JSON.parse(String(m))).some((m) => m.type === 'enter' && m.client === last.id),
        3000,
        `client ${x.id} seeing ${last.id} enter`,
        10,
      );
    }

    const count = (c: Client) => c.messages.length;
    const na = count(a.c);
    const nb = count(b.c);
    a.c.send(JSON.stringify({ text: 'hello from worker 0' }));
    const toB = JSON.parse(String(await b.c.nth(nb)));
    assert.deepEqual([toB.type, toB.client, toB.text], ['say', a.id, 'hello from worker 0']);
    const echo = JSON.parse(String(await a.c.nth(na)));
    assert.equal(echo.text, 'hello from worker 0', 'the sender is in the room too');

    b.c.send(JSON.stringify({ text: 'and back from worker 1' }));
    const toA = JSON.parse(String(await a.c.nth(na + 1)));
    assert.deepEqual([toA.client, toA.text], [b.id, 'and back from worker 1']);

    // A send to one client id in the other worker.
    b.c.send(JSON.stringify({ text: 'psst', to: a.id }));
    const priv = JSON.parse(String(await a.c.nth(na + 2)));
    assert.deepEqual([priv.client, priv.text, priv.private], [b.id, 'psst', true]);

    // Waits for something not to happen in another worker, where no later event tells that a
    // relayed message is not coming.
    await sleep(200);
    assert.equal(b.c.messages.length, nb + 2, 'the private message went to its addressee only');
    assert.ok(!other.messages.map(String).some((m) => m.includes('worker')), 'room 2 heard nothing of room 1');

    // Leaving, across workers.
    b.c.ws.close();
    await waitUntil(
      () => a.c.messages.map((m) => JSON.parse(String(m))).some((m) => m.type === 'leave' && m.client === b.id),
      3000,
      'the leave message crossing workers',
      10,
    );

    for (const x of clients) x.c.terminate();
    other.terminate();
    process.kill(-child.pid!, 'SIGTERM');
    await withTimeout(new Promise((r) => child!.once('exit', r)), 15_000, 'the server stops on SIGTERM');
  });
});
