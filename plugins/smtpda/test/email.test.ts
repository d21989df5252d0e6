// was.email's builder and the spool, without any SMTP: what send() checks and what it writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createMailer, countSpool, decodeMessage, listEntries, parseEntryName, addressProblem } from '../src/index.js';
import { parseMime } from '../test-support/mime.js';
import { FIXTURES, tempDir } from '../test-support/helpers.js';

function queueFiles(spool: string): string[] {
  return fs.readdirSync(path.join(spool, 'queue'));
}

test('send() writes one whole message into queue/ and nothing stays in tmp/', { timeout: 60_000 }, async () => {
  const spool = tempDir();
  const { email } = createMailer({ spool });
  const r = await email('Hello', 'Sender <sender@example.com>', 'rcpt@example.com')
    .addContent('plain text body')
    .addContent('<p>html <img src="cid:ID_A"></p>', 'text/html')
    .addAttachment(path.join(FIXTURES, '001.png'), { cid: 'ID_A' })
    .addAttachment(path.join(FIXTURES, 'report.pdf'), { name: 'Report.pdf' })
    .addCc('cc@example.com')
    .addBcc('hidden@example.com')
    .send();
  assert.match(r.id, /^[0-9a-z]+-[0-9a-z]+-[0-9a-f]+$/);
  assert.match(r.messageId, /^<.+@.+>$/);
  assert.deepEqual(fs.readdirSync(path.join(spool, 'tmp')), []);
  const files = queueFiles(spool);
  assert.equal(files.length, 1);
  const entry = parseEntryName(files[0]!);
  assert.equal(entry?.id, r.id);
  assert.equal(entry?.attempts, 0);
  const stat = fs.statSync(path.join(spool, 'queue', files[0]!));
  assert.equal(stat.mode & 0o777, 0o600, 'a spool file may hold a password: owner only');
  const { header, raw } = decodeMessage(fs.readFileSync(path.join(spool, 'queue', files[0]!)));
  assert.equal(header.messageId, r.messageId);
  assert.deepEqual(header.envelope, {
    from: 'sender@example.com',
    to: ['rcpt@example.com', 'cc@example.com', 'hidden@example.com'],
  });
  assert.equal(header.smtp, undefined, 'no setSmtp(): the agent default is used, no password on disk');
  const mime = parseMime(raw);
  assert.equal(mime.header('bcc'), undefined, 'Bcc is in the envelope, never in the headers');
  assert.equal(mime.header('subject'), 'Hello');
  assert.equal(mime.header('message-id'), r.messageId);
  assert.equal(mime.type, 'multipart/mixed');
  const types = mime.walk().map((p) => p.type);
  assert.ok(types.includes('multipart/related'), types.join(','));
  assert.ok(types.includes('multipart/alternative'), types.join(','));
  assert.deepEqual(countSpool(spool), { queued: 1, active: 0, undeliverable: 0 });
});

test('setSmtp() is stored with the message', { timeout: 60_000 }, async () => {
  const spool = tempDir();
  const { email } = createMailer({ spool });
  await email('s', 'a@example.com', ['b@example.com', 'C <c@example.com>'])
    .setSmtp('mail.example.com:2525', 'u', 'p', true)
    .addContent('x')
    .send();
  const [file] = queueFiles(spool);
  const { header } = decodeMessage(fs.readFileSync(path.join(spool, 'queue', file!)));
  assert.deepEqual(header.smtp, { server: 'mail.example.com:2525', user: 'u', password: 'p', ssl: true });
  assert.deepEqual(header.envelope.to, ['b@example.com', 'c@example.com']);
});

test('bad input is an error at send(), synchronously, and nothing is spooled', { timeout: 60_000 }, async () => {
  const spool = tempDir();
  const { email } = createMailer({ spool });
  const cases: Array<[string, () => unknown, string]> = [
    ['no recipient', () => email('s', 'a@example.com').addContent('x').send(), 'SKT_SMTPDA_NO_RECIPIENT'],
    ['empty recipient', () => email('s', 'a@example.com', '').addContent('x').send(), 'SKT_SMTPDA_NO_RECIPIENT'],
    ['invalid to', () => email('s', 'a@example.com', 'not an address').send(), 'SKT_SMTPDA_ADDRESS'],
    ['invalid in a list', () => email('s', 'a@example.com', 'ok@example.com, bad@').send(), 'SKT_SMTPDA_ADDRESS'],
    ['double dot domain', () => email('s', 'a@example.com', 'x@exa..mple.com').send(), 'SKT_SMTPDA_ADDRESS'],
    ['invalid from', () => email('s', 'nobody', 'b@example.com').send(), 'SKT_SMTPDA_ADDRESS'],
    [
      'invalid cc',
      () => email('s', 'a@example.com', 'b@example.com').addCc('c@@example.com').send(),
      'SKT_SMTPDA_ADDRESS',
    ],
    [
      'header injection in to',
      () => email('s', 'a@example.com', 'b@example.com\r\nBcc: evil@example.com').send(),
      'SKT_SMTPDA_ADDRESS',
    ],
    [
      'header injection in subject',
      () => email('s\r\nBcc: evil@example.com', 'a@example.com', 'b@example.com').send(),
      'SKT_SMTPDA_CONTENT',
    ],
    [
      'missing attachment',
      () => email('s', 'a@example.com', 'b@example.com').addAttachment('/nonexistent/file.png', { cid: 'x' }).send(),
      'SKT_SMTPDA_ATTACHMENT',
    ],
    [
      'folder as attachment',
      () => email('s', 'a@example.com', 'b@example.com').addAttachment(FIXTURES).send(),
      'SKT_SMTPDA_ATTACHMENT',
    ],
    [
      'content type not text',
      () => email('s', 'a@example.com', 'b@example.com').addContent('x', 'image/png').send(),
      'SKT_SMTPDA_CONTENT',
    ],
    [
      'bad server',
      () => email('s', 'a@example.com', 'b@example.com').setSmtp('host:99999').send(),
      'SKT_SMTPDA_OPTION',
    ],
  ];
  for (const [what, fn, code] of cases) {
    assert.throws(fn, (err: any) => err.code === code, `${what}: expected ${code}`);
  }
  assert.deepEqual(queueFiles(spool), []);
  assert.deepEqual(fs.readdirSync(path.join(spool, 'tmp')), []);
});

test('requireSmtp: without a default server and without setSmtp() send() fails', { timeout: 60_000 }, async () => {
  const spool = tempDir();
  const { email } = createMailer({ spool, requireSmtp: true });
  assert.throws(() => email('s', 'a@example.com', 'b@example.com').send(), { code: 'SKT_SMTPDA_NO_SERVER' });
  await email('s', 'a@example.com', 'b@example.com').setSmtp('127.0.0.1:2525').send();
  assert.equal(queueFiles(spool).length, 1);
});

test('send() twice is an error; concurrent sends get distinct ids', { timeout: 60_000 }, async () => {
  const spool = tempDir();
  const { email } = createMailer({ spool, fsync: false });
  const e = email('s', 'a@example.com', 'b@example.com');
  await e.send();
  assert.throws(() => e.send(), { code: 'SKT_SMTPDA_SENT' });
  const ids = await Promise.all(
    Array.from({ length: 50 }, (_, i) => email(`n${i}`, 'a@example.com', 'b@example.com').send()),
  );
  assert.equal(new Set(ids.map((r) => r.id)).size, 50);
  assert.equal(new Set(ids.map((r) => r.messageId)).size, 50);
  const entries = await listEntries(spool, 'queue');
  assert.equal(entries.length, 51);
});

test('address checks', { timeout: 60_000 }, () => {
  for (const ok of [
    'a@example.com',
    'first.last+tag@sub.example.co.uk',
    'x@localhost',
    'u@[127.0.0.1]',
    'ü@exämple.de',
  ]) {
    assert.equal(addressProblem(ok), undefined, ok);
  }
  for (const bad of [
    '',
    'a',
    '@example.com',
    'a@',
    'a b@example.com',
    'a@-example.com',
    '.a@example.com',
    'a..b@example.com',
    'a@exa mple.com',
  ]) {
    assert.notEqual(addressProblem(bad), undefined, bad);
  }
});
