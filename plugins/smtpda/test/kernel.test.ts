// The plugin in a real server: was.email in App handlers (2 workers), the agent as the
// kernel's background process in the master's care, killed with -9 mid-batch and restarted
// by the master.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kernel } from '@skitai/kernel';
import { App } from '@skitai/app';
import { smtpda, countSpool } from '../src/index.js';
import { SmtpPeer } from '../test-support/smtp-peer.js';
import { SERVER_FIXTURE, isAlive, readLog, sleep, tempDir, waitUntil } from '../test-support/helpers.js';

const BATCH = 100;
let peer: SmtpPeer;
let server: ChildProcess;
let output = '';
let base = '';
let dir = '';
let spool = '';
let logDir = '';

function lockPid(): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(spool, 'agent.lock'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(base + url, { headers: { accept: 'application/json' } });
  return { status: r.status, body: await r.json() };
}

before(async () => {
  peer = await SmtpPeer.start({ delayMs: 10 });
  dir = tempDir();
  spool = path.join(dir, 'spool');
  logDir = path.join(dir, 'log');
  server = spawn(process.execPath, [SERVER_FIXTURE], {
    env: {
      ...process.env,
      FX_SMTP_SERVER: `127.0.0.1:${peer.port}`,
      FX_SPOOL: spool,
      FX_LOG: logDir,
      FX_WORKERS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // On port 0: the master's listening line says which port the workers share.
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 60 s:\n${output}`)), 60_000);
    const onData = (c: Buffer) => {
      output += c.toString();
      const m = /2 workers listening on http:\/\/[^\s]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}):\n${output}`));
    });
  });
  base = `http://127.0.0.1:${await listening}`;
  await waitUntil(() => lockPid(), 30_000, 'the agent');
});

after(async () => {
  if (server.exitCode === null) {
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await peer.close();
});

test('bad input is an error at send() in the handler', { timeout: 120_000 }, async () => {
  let r = await get('/send?subject=x');
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'SKT_SMTPDA_NO_RECIPIENT');
  r = await get('/send?to=not-an-address');
  assert.equal(r.body.code, 'SKT_SMTPDA_ADDRESS');
  r = await get(`/send?to=a@example.com&attach=${encodeURIComponent('/nonexistent/001.png')}`);
  assert.equal(r.body.code, 'SKT_SMTPDA_ATTACHMENT');
  assert.match(r.body.message, /does not exist/);
  assert.equal(countSpool(spool).queued, 0);
});

test(
  `was.email from 2 workers, the agent killed with -9 mid-batch and restarted by the master: ${BATCH} of ${BATCH} delivered`,
  { timeout: 120_000 },
  async (t) => {
    const firstAgent = lockPid()!;
    const results = await Promise.all(
      Array.from({ length: BATCH }, (_, i) => get(`/send?to=u${i}@example.com&subject=k${i}`)),
    );
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    const workers = new Set(results.map((r) => r.body.worker));
    const sent = results.map((r) => r.body.messageId as string);
    await peer.waitForCount(20, 15_000);
    // A random moment within the batch (not a wait for anything): each run kills elsewhere.
    await sleep(Math.floor(Math.random() * 200));
    process.kill(firstAgent, 'SIGKILL');
    const killedAt = peer.messages.length;
    assert.ok(killedAt < BATCH, `killed mid-batch (${killedAt} arrived)`);
    const secondAgent = await waitUntil(
      () => {
        const p = lockPid();
        return p !== undefined && p !== firstAgent && isAlive(p) ? p : undefined;
      },
      10_000,
      'the restarted agent',
    );
    await waitUntil(
      () => new Set(peer.messages.map((m) => m.messageId)).size >= BATCH,
      20_000,
      `all ${BATCH} delivered`,
    );
    await waitUntil(
      () => {
        const c = countSpool(spool);
        return c.queued + c.active === 0;
      },
      15_000,
      'an empty spool',
    );
    const received = peer.messages.map((m) => m.messageId);
    const unique = new Set(received);
    for (const id of sent) assert.ok(unique.has(id), `${id} delivered`);
    assert.equal(unique.size, BATCH);
    const log = readLog(logDir);
    const starts = log.match(/agent pid \d+ delivers/g) ?? [];
    assert.equal(starts.length, 2, `one agent for the server (not one per worker), started twice:\n${log}`);
    assert.doesNotMatch(log, /standby/);
    assert.match(output, /background process smtpda \(pid \d+\) exited \(SIGKILL\): restarting/);
    t.diagnostic(
      `workers used: ${[...workers].sort().join(', ')}; agent pid ${firstAgent} killed after ${killedAt} of ${BATCH} arrived, ` +
        `restarted as pid ${secondAgent}; ${unique.size} of ${BATCH} delivered, ${received.length} received, ${received.length - unique.size} duplicate(s)`,
    );
  },
);

test('the agent stops with the server', { timeout: 120_000 }, async () => {
  const agent = lockPid()!;
  assert.ok(isAlive(agent));
  process.kill(server.pid!, 'SIGTERM');
  await waitUntil(() => server.exitCode !== null, 15_000, 'the server to stop');
  await waitUntil(() => !isAlive(agent), 15_000, 'the agent to stop');
  assert.equal(lockPid(), undefined, 'the lock was released');
  assert.match(readLog(logDir), new RegExp(`agent pid ${agent} stopped`));
});

test('plugin contract: options checked at start, was.email typed and defined once', { timeout: 120_000 }, async () => {
  const k = new Kernel();
  k.use(smtpda({ spool: tempDir(), maxRetry: -1 }));
  k.mount('/', new App());
  await assert.rejects(k.start({ address: '127.0.0.1', port: 0 }), { code: 'SKT_SMTPDA_OPTION' });
  const k2 = new Kernel();
  k2.use(smtpda({ spool: tempDir() })).use(smtpda({ spool: tempDir() }));
  await assert.rejects(k2.start({ address: '127.0.0.1', port: 0 }), { code: 'SKT_PLUGIN_DUPLICATE' });
});

test('agent: false only enqueues; without a server send() needs setSmtp()', { timeout: 120_000 }, async () => {
  const s = tempDir();
  const k = new Kernel();
  k.use(smtpda({ spool: s, agent: false }));
  const app = new App();
  app.route('/', async (was) => {
    const r = await was.email('hi', 'a@example.com', 'b@example.com').addContent('x').send();
    return r;
  });
  k.mount('/', app);
  const { port } = await k.start({ address: '127.0.0.1', port: 0 });
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { id: string };
    assert.match(body.id, /-/);
    // Waits for something not to happen: an agent (wrongly started) would take it on its start.
    await sleep(300);
    assert.equal(countSpool(s).queued, 1, 'spooled, and no agent here to deliver it');
    assert.equal(fs.existsSync(path.join(s, 'agent.lock')), false);
  } finally {
    await k.stop();
  }
  const k3 = new Kernel();
  k3.use(smtpda({ spool: tempDir(), retryDelay: 0.1 }));
  const app3 = new App();
  app3.route('/', async (was) => {
    try {
      await was.email('hi', 'a@example.com', 'b@example.com').send();
      return 'sent';
    } catch (err) {
      return (err as { code: string }).code;
    }
  });
  k3.mount('/', app3);
  const l3 = await k3.start({ address: '127.0.0.1', port: 0 });
  try {
    const r = await fetch(`http://127.0.0.1:${l3.port}/`);
    assert.equal(await r.text(), 'SKT_SMTPDA_NO_SERVER');
  } finally {
    await k3.stop();
  }
});
