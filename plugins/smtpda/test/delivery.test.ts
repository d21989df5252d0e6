// The delivery agent as a real process (the skitai-smtpda CLI in the foreground) against a
// real SMTP server (smtp-server, in this process).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createMailer, countSpool } from '../src/index.js';
import { SmtpPeer } from '../test-support/smtp-peer.js';
import {
  FIXTURES,
  freePort,
  readLog,
  runCli,
  tempDir,
  waitUntil,
  writeConfig,
  type AgentProcess,
} from '../test-support/helpers.js';

interface Setup {
  dir: string;
  spool: string;
  log: string;
  config: string;
}

function setup(port: number, more: Record<string, string | number | boolean> = {}): Setup {
  const dir = tempDir();
  const spool = path.join(dir, 'spool');
  const log = path.join(dir, 'log');
  const config = writeConfig(
    dir,
    {
      'smtp-server': `127.0.0.1:${port}`,
      spool: 'spool', // relative to the config file's folder
      'max-retry': 10,
      'keep-days': 3,
      'retry-delay': 0.1,
      'max-retry-delay': 0.5,
      'poll-interval': 0.1,
      timeout: 5,
      ...more,
    },
    log,
  );
  return { dir, spool, log, config };
}

async function stopAgent(agent: AgentProcess): Promise<void> {
  agent.kill('SIGTERM');
  const { code } = await agent.exited;
  assert.equal(code, 0, `the agent exits 0 on SIGTERM; output:\n${agent.output()}`);
}

describe('content: text, HTML with an inline image, an attachment', { timeout: 60_000 }, () => {
  let peer: SmtpPeer;
  let s: Setup;
  let agent: AgentProcess;
  const png = fs.readFileSync(path.join(FIXTURES, '001.png'));
  const pdf = fs.readFileSync(path.join(FIXTURES, 'report.pdf'));

  before(async () => {
    peer = await SmtpPeer.start();
    s = setup(peer.port);
    const { email } = createMailer({ spool: s.spool });
    await email('Plain text', 'Sender <sender@example.com>', 'plain@example.com')
      .addContent('Hello World\nsecond line, ünïcode')
      .send();
    await email('HTML inline', 'sender@example.com', 'html@example.com')
      .addContent("Hello World<div><img src='cid:ID_A'></div>", 'text/html')
      .addAttachment(path.join(FIXTURES, '001.png'), { cid: 'ID_A' })
      .send();
    await email('With a file', 'sender@example.com', 'file@example.com')
      .addContent('see the file')
      .addAttachment(path.join(FIXTURES, 'report.pdf'), { name: 'Report 2026.pdf' })
      .send();
    agent = runCli(['-f', s.config]);
    await peer.waitForCount(3, 20_000);
  });
  after(async () => {
    await stopAgent(agent);
    await peer.close();
  });

  const find = (subject: string) => {
    const m = peer.messages.find((x) => x.subject === subject);
    assert.ok(m, `${subject} arrived`);
    return m;
  };

  test('a text message', { timeout: 60_000 }, () => {
    const m = find('Plain text');
    assert.equal(m.from, 'sender@example.com');
    assert.deepEqual(m.to, ['plain@example.com']);
    assert.equal(m.mime.type, 'text/plain');
    assert.equal(m.mime.body.toString('utf8').replace(/\r\n/g, '\n').trimEnd(), 'Hello World\nsecond line, ünïcode');
    assert.equal(m.mime.header('from'), 'Sender <sender@example.com>');
  });

  test('HTML with an inline image by cid', { timeout: 60_000 }, () => {
    const m = find('HTML inline');
    const parts = m.mime.walk();
    const related = parts.find((p) => p.type === 'multipart/related');
    assert.ok(related, 'the image and the HTML are in a multipart/related');
    const html = related.parts.find((p) => p.type === 'text/html');
    assert.match(html!.body.toString(), /src='cid:ID_A'/);
    const image = related.parts.find((p) => p.header('content-id') === '<ID_A>');
    assert.ok(image, 'the image part has Content-ID <ID_A>');
    assert.equal(image.type, 'image/png');
    assert.deepEqual(image.body, png);
  });

  test('an attachment', { timeout: 60_000 }, () => {
    const m = find('With a file');
    const file = m.mime.walk().find((p) => /^attachment/.test(p.header('content-disposition') ?? ''));
    assert.ok(file, 'an attachment part');
    assert.match(file.header('content-disposition')!, /filename="?Report 2026\.pdf"?/);
    assert.equal(file.type, 'application/pdf');
    assert.deepEqual(file.body, pdf);
    const text = m.mime.walk().find((p) => p.type === 'text/plain');
    assert.equal(text!.body.toString().trim(), 'see the file');
  });

  test('the spool is empty and every delivery is logged', { timeout: 60_000 }, async () => {
    await waitUntil(() => countSpool(s.spool).queued + countSpool(s.spool).active === 0, 15_000, 'an empty spool');
    // The file goes first, the log line right after it.
    const log = await waitUntil(
      () => {
        const l = readLog(s.log);
        return (l.match(/: delivered <[^>]+> to /g) ?? []).length >= 3 ? l : '';
      },
      15_000,
      'three delivered lines',
    );
    assert.equal((log.match(/: delivered <[^>]+> to /g) ?? []).length, 3, log);
    assert.match(log, /attempt 1 of 11: 250 /);
  });
});

test('the SMTP server is down at first, then up: delivered after retries', { timeout: 60_000 }, async () => {
  // A port nothing listens on yet, where the SMTP server comes up later: the agent is told it
  // in advance (its config), so it cannot be port 0.
  const port = await freePort();
  const s = setup(port);
  const { email } = createMailer({ spool: s.spool });
  const { messageId } = await email('Patience', 'sender@example.com', 'later@example.com').addContent('x').send();
  const agent = runCli(['-f', s.config]);
  let peer: SmtpPeer | undefined;
  try {
    // At least two failed attempts, logged with the reason.
    await waitUntil(
      () => /attempt 2 of 11 to later@example.com via 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/.test(readLog(s.log)),
      10_000,
      'two failed attempts',
    );
    assert.equal(countSpool(s.spool).queued + countSpool(s.spool).active, 1, 'still spooled');
    peer = await SmtpPeer.start({ port });
    await peer.waitForCount(1, 20_000);
    assert.equal(peer.messages[0]!.messageId, messageId, 'the same Message-ID as at send()');
    await waitUntil(
      () => /delivered <[^>]+> to later@example\.com .*attempt (\d+) of 11/.exec(readLog(s.log)),
      15_000,
      'the delivered line',
    );
    const attempt = Number(/delivered .*attempt (\d+) of 11/.exec(readLog(s.log))![1]);
    assert.ok(attempt >= 3, `delivered on attempt ${attempt}`);
    assert.equal(peer.messages.length, 1);
  } finally {
    await stopAgent(agent);
    await peer?.close();
  }
});

test(
  'a server that rejects: undeliverable after maxRetry retries, kept keepDays, then purged',
  { timeout: 60_000 },
  async () => {
    const peer = await SmtpPeer.start({
      rejectRcpt: (a) => (a.startsWith('nobody@') ? '550 5.1.1 no such user' : undefined),
    });
    const s = setup(peer.port, { 'max-retry': 2 });
    const { email } = createMailer({ spool: s.spool });
    const { id } = await email('Doomed', 'sender@example.com', 'nobody@example.com').addContent('x').send();
    // One message with a good and a bad recipient: the good one gets it once.
    await email('Half', 'sender@example.com', ['good@example.com', 'nobody@example.org']).addContent('y').send();
    let agent = runCli(['-f', s.config]);
    try {
      const reasonFile = path.join(s.spool, 'undeliverable', `${id}.reason.json`);
      await waitUntil(() => countSpool(s.spool).undeliverable === 2, 10_000, 'two undeliverable messages');
      const reason = JSON.parse(fs.readFileSync(reasonFile, 'utf8'));
      assert.equal(reason.attempts, 3, 'the first attempt and maxRetry (2) retries');
      assert.match(reason.error, /550/);
      assert.deepEqual(reason.envelope.to, ['nobody@example.com']);
      assert.ok(fs.existsSync(path.join(s.spool, 'undeliverable', `${id}.msg`)), 'the message itself is kept');
      assert.equal(peer.rcptRejections.filter((a) => a === 'nobody@example.com').length, 3);
      assert.equal(peer.rcptRejections.filter((a) => a === 'nobody@example.org').length, 3);
      assert.deepEqual(
        peer.messages.map((m) => m.to),
        [['good@example.com']],
        'the accepted recipient got it once',
      );
      assert.equal(countSpool(s.spool).queued + countSpool(s.spool).active, 0);
      const log = await waitUntil(
        () => {
          const l = readLog(s.log);
          return (l.match(/undeliverable after 3 attempts/g) ?? []).length >= 2 ? l : '';
        },
        15_000,
        'two undeliverable lines',
      );
      assert.match(log, new RegExp(`${id}: undeliverable after 3 attempts .*550`));
      assert.equal(
        (log.match(new RegExp(`${id}: attempt \\d of 3 .* failed: 550`, 'g')) ?? []).length,
        2,
        'each failed retry is logged',
      );
    } finally {
      await stopAgent(agent);
    }
    // keepDays: a given-up message older than 3 days is removed when the agent starts.
    const old = (Date.now() - 4 * 86400_000) / 1000;
    fs.utimesSync(path.join(s.spool, 'undeliverable', `${id}.reason.json`), old, old);
    fs.utimesSync(path.join(s.spool, 'undeliverable', `${id}.msg`), old, old);
    agent = runCli(['-f', s.config]);
    try {
      await waitUntil(() => countSpool(s.spool).undeliverable === 1, 15_000, 'the old one purged');
      assert.ok(!fs.existsSync(path.join(s.spool, 'undeliverable', `${id}.msg`)));
      assert.ok(!fs.existsSync(path.join(s.spool, 'undeliverable', `${id}.reason.json`)));
      await waitUntil(
        () => new RegExp(`${id}: undeliverable for 3 days: removed`).test(readLog(s.log)),
        15_000,
        'the removed line',
      );
    } finally {
      await stopAgent(agent);
      await peer.close();
    }
  },
);

test('SMTP authentication, the password from the environment', { timeout: 60_000 }, async () => {
  const peer = await SmtpPeer.start({ auth: { user: 'mailer', pass: 's3cret' } });
  const s = setup(peer.port, { user: 'mailer', password: 'wrong-in-the-file' });
  const { email } = createMailer({ spool: s.spool });
  await email('Authed', 'sender@example.com', 'x@example.com').addContent('x').send();
  const agent = runCli(['-f', s.config], { SKITAI_SMTPDA_PASSWORD: 's3cret' });
  try {
    await peer.waitForCount(1, 20_000);
    assert.deepEqual(peer.logins, ['mailer']);
  } finally {
    await stopAgent(agent);
    await peer.close();
  }
});

test(
  'one agent per spool: a second one waits on standby and takes over when the first stops',
  { timeout: 60_000 },
  async () => {
    const peer = await SmtpPeer.start();
    const s = setup(peer.port);
    const { email } = createMailer({ spool: s.spool });
    const first = runCli(['-f', s.config, '--pid-file', path.join(s.dir, 'a.pid')]);
    await waitUntil(() => /agent pid \d+ delivers/.test(readLog(s.log)), 15_000, 'the first agent');
    const second = runCli(['-f', s.config, '--pid-file', path.join(s.dir, 'b.pid')]);
    try {
      await waitUntil(
        () => /standby: the spool .* has an agent already \(pid (\d+)\)/.test(readLog(s.log)),
        15_000,
        'the standby line',
      );
      assert.equal(Number(/has an agent already \(pid (\d+)\)/.exec(readLog(s.log))![1]), first.pid);
      for (let i = 0; i < 5; i++) await email(`one ${i}`, 'sender@example.com', 'x@example.com').addContent('x').send();
      await peer.waitForCount(5, 20_000);
      await stopAgent(first);
      await waitUntil(
        () => readLog(s.log).includes(`agent pid ${second.pid} delivers`),
        15_000,
        'the second agent taking over',
      );
      for (let i = 0; i < 5; i++) await email(`two ${i}`, 'sender@example.com', 'x@example.com').addContent('x').send();
      await peer.waitForCount(10, 20_000);
      assert.equal(new Set(peer.messages.map((m) => m.messageId)).size, 10, 'no duplicates');
      assert.equal(peer.messages.length, 10);
    } finally {
      await stopAgent(second);
      await peer.close();
    }
  },
);

test(
  'what a crashed agent or writer left behind: a message in active/ past maxRetry, a corrupt file, old tmp files',
  { timeout: 60_000 },
  async () => {
    const peer = await SmtpPeer.start();
    const s = setup(peer.port, { 'max-retry': 2 });
    const { email } = createMailer({ spool: s.spool });
    // A message whose last allowed attempt was in flight when the agent died (say it crashed the agent).
    const { id: poison } = await email('Poison', 'sender@example.com', 'p@example.com').addContent('x').send();
    const [queued] = fs.readdirSync(path.join(s.spool, 'queue'));
    fs.renameSync(path.join(s.spool, 'queue', queued!), path.join(s.spool, 'active', `${poison}.3.0.msg`));
    // One in flight with attempts left: sent again.
    const { id: retried, messageId } = await email('Retried', 'sender@example.com', 'r@example.com')
      .addContent('x')
      .send();
    const [queued2] = fs.readdirSync(path.join(s.spool, 'queue'));
    fs.renameSync(path.join(s.spool, 'queue', queued2!), path.join(s.spool, 'active', `${retried}.1.0.msg`));
    // A file that is not a spool message.
    fs.writeFileSync(path.join(s.spool, 'queue', 'zzzzzzzzz-1-abc.0.0.msg'), 'garbage without a header line');
    // A writer's leftovers: an old one (removed) and a young one (being written: kept).
    fs.writeFileSync(path.join(s.spool, 'tmp', 'old.msg'), 'x');
    const old = (Date.now() - 2 * 3600_000) / 1000;
    fs.utimesSync(path.join(s.spool, 'tmp', 'old.msg'), old, old);
    fs.writeFileSync(path.join(s.spool, 'tmp', 'young.msg'), 'x');
    const agent = runCli(['-f', s.config]);
    try {
      await peer.waitForCount(1, 20_000);
      assert.equal(peer.messages[0]!.messageId, messageId);
      await waitUntil(() => countSpool(s.spool).undeliverable === 2, 15_000, 'two undeliverable');
      const reason = JSON.parse(fs.readFileSync(path.join(s.spool, 'undeliverable', `${poison}.reason.json`), 'utf8'));
      assert.match(reason.error, /the agent stopped during the last attempt/);
      const bad = JSON.parse(
        fs.readFileSync(path.join(s.spool, 'undeliverable', 'zzzzzzzzz-1-abc.reason.json'), 'utf8'),
      );
      assert.match(bad.error, /unreadable spool file/);
      assert.deepEqual(fs.readdirSync(path.join(s.spool, 'tmp')), ['young.msg']);
      assert.equal(peer.messages.length, 1, 'the poison message was not sent again');
    } finally {
      await stopAgent(agent);
      await peer.close();
    }
  },
);
