// The delivery agent killed with -9 in the middle of a batch of 100, then restarted: all 100
// delivered, none lost; duplicates counted (at-least-once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createMailer, countSpool, listEntries } from '../src/index.js';
import { SmtpPeer } from '../test-support/smtp-peer.js';
import { readLog, runCli, sleep, tempDir, waitUntil, writeConfig, type AgentProcess } from '../test-support/helpers.js';

const BATCH = 100;

async function batch(spool: string): Promise<string[]> {
  const { email } = createMailer({ spool, fsync: false });
  const ids: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    const r = await email(`batch ${i}`, 'sender@example.com', `rcpt${i}@example.com`).addContent(`message ${i}`).send();
    ids.push(r.messageId);
  }
  return ids;
}

function config(dir: string, port: number, concurrency: number): string {
  return writeConfig(
    dir,
    {
      'smtp-server': `127.0.0.1:${port}`,
      spool: path.join(dir, 'spool'),
      'retry-delay': 0.1,
      'max-retry-delay': 0.5,
      'poll-interval': 0.1,
      timeout: 5,
      concurrency,
    },
    path.join(dir, 'log'),
  );
}

async function finish(
  t: { diagnostic(msg: string): void },
  label: string,
  peer: SmtpPeer,
  ids: string[],
  spool: string,
  log: string,
  killedAt: number,
  agent2: AgentProcess,
) {
  await waitUntil(() => new Set(peer.messages.map((m) => m.messageId)).size >= BATCH, 20_000, `all ${BATCH} delivered`);
  await waitUntil(
    () => {
      const c = countSpool(spool);
      return c.queued + c.active === 0;
    },
    15_000,
    'an empty spool',
  );
  agent2.kill('SIGTERM');
  assert.equal((await agent2.exited).code, 0);
  const received = peer.messages.map((m) => m.messageId);
  const unique = new Set(received);
  for (const id of ids) assert.ok(unique.has(id), `${id} delivered`);
  assert.equal(unique.size, BATCH, 'nothing else arrived');
  const duplicates = received.length - unique.size;
  assert.equal(countSpool(spool).undeliverable, 0);
  t.diagnostic(
    `${label}: killed after ${killedAt} of ${BATCH} arrived; ${unique.size} of ${BATCH} delivered, ${received.length} received, ${duplicates} duplicate(s)`,
  );
  return { duplicates, received: received.length, log: readLog(log) };
}

test(
  `kill -9 at a random moment in a batch of ${BATCH}, restart: ${BATCH} of ${BATCH} delivered`,
  { timeout: 120_000 },
  async (t) => {
    const dir = tempDir();
    const spool = path.join(dir, 'spool');
    const log = path.join(dir, 'log');
    // 10 ms per message at the server: the batch takes over a second, the kill lands inside it.
    const peer = await SmtpPeer.start({ delayMs: 10 });
    try {
      const ids = await batch(spool);
      const cfg = config(dir, peer.port, 1);
      const agent = runCli(['-f', cfg]);
      await peer.waitForCount(20, 15_000);
      // Not in step with the SMTP exchange: anywhere in the next 300 ms.
      await sleep(Math.floor(Math.random() * 300));
      agent.kill('SIGKILL');
      const exit = await agent.exited;
      assert.equal(exit.signal, 'SIGKILL');
      const killedAt = peer.messages.length;
      assert.ok(killedAt < BATCH, `killed in the middle (${killedAt} arrived)`);
      const left = (await listEntries(spool, 'queue')).length + (await listEntries(spool, 'active')).length;
      assert.ok(left > 0 && left <= BATCH - killedAt + 1, `${left} left in the spool after the kill`);
      // The pid file and the lock of the dead agent are stale: the new one takes over.
      const agent2 = runCli(['-f', cfg]);
      const r = await finish(t, 'random kill', peer, ids, spool, log, killedAt, agent2);
      assert.ok(r.duplicates <= 1, `concurrency 1: at most one duplicate, got ${r.duplicates}`);
    } finally {
      await peer.close();
    }
  },
);

test(
  `kill -9 after the server stored a message but before its 250 (the worst moment): ${BATCH} of ${BATCH} delivered, the one duplicate counted`,
  { timeout: 120_000 },
  async (t) => {
    const dir = tempDir();
    const spool = path.join(dir, 'spool');
    const log = path.join(dir, 'log');
    let agent: AgentProcess | undefined;
    const KILL_AT = 40;
    const peer = await SmtpPeer.start({
      delayMs: 2,
      onStored: (n) => {
        if (n === KILL_AT) agent!.kill('SIGKILL');
      },
    });
    try {
      const ids = await batch(spool);
      const cfg = config(dir, peer.port, 1);
      agent = runCli(['-f', cfg]);
      assert.equal((await agent.exited).signal, 'SIGKILL');
      assert.equal(peer.messages.length, KILL_AT);
      const active = await listEntries(spool, 'active');
      assert.equal(active.length, 1, 'the message in flight is in active/, its attempt counted');
      assert.equal(active[0]!.attempts, 1);
      const agent2 = runCli(['-f', cfg]);
      const r = await finish(t, 'kill before 250', peer, ids, spool, log, KILL_AT, agent2);
      assert.equal(r.duplicates, 1, 'exactly the message in flight arrives twice');
      const twice = peer.messages[KILL_AT - 1]!.messageId;
      assert.equal(
        peer.messages.filter((m) => m.messageId === twice).length,
        2,
        'the duplicate has the same Message-ID',
      );
      assert.match(r.log, /was being sent \(attempt 1\) when the previous agent stopped: sending it again/);
    } finally {
      await peer.close();
    }
  },
);

test(
  `kill -9 with concurrency 4: ${BATCH} of ${BATCH} delivered, at most 4 duplicates`,
  { timeout: 120_000 },
  async (t) => {
    const dir = tempDir();
    const spool = path.join(dir, 'spool');
    const log = path.join(dir, 'log');
    const peer = await SmtpPeer.start({ delayMs: 20 });
    try {
      const ids = await batch(spool);
      const cfg = config(dir, peer.port, 4);
      const agent = runCli(['-f', cfg]);
      await peer.waitForCount(30, 15_000);
      // A random moment (not a wait for anything): anywhere in the next 300 ms.
      await sleep(Math.floor(Math.random() * 300));
      agent.kill('SIGKILL');
      await agent.exited;
      const killedAt = peer.messages.length;
      assert.ok(killedAt < BATCH);
      const agent2 = runCli(['-f', cfg]);
      const r = await finish(t, 'concurrency 4', peer, ids, spool, log, killedAt, agent2);
      assert.ok(r.duplicates <= 4, `${r.duplicates} duplicates`);
      assert.deepEqual(fs.readdirSync(path.join(spool, 'tmp')), []);
    } finally {
      await peer.close();
    }
  },
);
