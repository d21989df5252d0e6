// Skitai's config file, the command line, and the CLI's daemon verbs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  parseIni,
  readConfig,
  configToAgentOptions,
  resolveAgentOptions,
  retryDelayMs,
  parseServer,
} from '../src/index.js';
import { parseArgs } from '../src/cli.js';
import { SmtpPeer } from '../test-support/smtp-peer.js';
import { cliOnce, isAlive, readLog, tempDir, waitUntil, writeConfig } from '../test-support/helpers.js';
import { createMailer } from '../src/index.js';

test('parseIni: sections, = and :, comments, continuation lines, case-insensitive keys', { timeout: 60_000 }, () => {
  const ini = parseIni(
    [
      '; a comment',
      'top = level',
      '[common]',
      'log-path = /var/log/skitai',
      '',
      '[smtpda]',
      '# another',
      'Verbose = false',
      'max-retry: 10',
      'smtp-server = smtp.example.com:587  ; inline comment',
      'password = pa#ss;word',
      'multi = first',
      '  second',
      '[Empty]',
    ].join('\r\n'),
  );
  assert.deepEqual(ini, {
    DEFAULT: { top: 'level' },
    common: { 'log-path': '/var/log/skitai' },
    smtpda: {
      verbose: 'false',
      'max-retry': '10',
      'smtp-server': 'smtp.example.com:587',
      password: 'pa#ss;word',
      multi: 'first\nsecond',
    },
    Empty: {},
  });
  assert.throws(() => parseIni('[smtpda]\njust words\n', 'x.conf'), {
    code: 'SKT_SMTPDA_CONFIG',
    message: /x\.conf: line 2/,
  });
});

test("Skitai's [smtpda] keys, paths relative to the file, passwords from the environment", { timeout: 60_000 }, () => {
  const dir = tempDir();
  const file = path.join(dir, 'skitai.conf');
  fs.writeFileSync(
    file,
    [
      '[common]',
      'log-path = logs',
      '[smtpda]',
      'verbose = yes',
      'max-retry = 4',
      'keep-days = 1',
      'smtp-server = mail.example.com',
      'user = mailer',
      'password = from-file',
      'ssl = true',
      'spool = ~/spool-x',
      'retry-delay = 0.5',
      'concurrency = 2',
    ].join('\n'),
  );
  let c = readConfig(file, {});
  assert.deepEqual(c.agent, {
    spool: path.join(os.homedir(), 'spool-x'),
    server: 'mail.example.com',
    user: 'mailer',
    password: 'from-file',
    ssl: true,
    maxRetry: 4,
    keepDays: 1,
    retryDelay: 0.5,
    concurrency: 2,
    logPath: path.join(dir, 'logs'),
    verbose: true,
  });
  assert.equal(c.title, 'skitai-smtpda');
  c = readConfig(file, { SKITAI_SMTPDA_PASSWORD: 'from-env' });
  assert.equal(c.agent.password, 'from-env', 'the environment wins over the file');
  const sections = parseIni('[smtpda]\nsmtp-server = x\npassword-env = MY_PW\n');
  assert.equal(configToAgentOptions(sections, file, { MY_PW: 'named' }).agent.password, 'named');
  assert.throws(() => configToAgentOptions(sections, file, {}), { code: 'SKT_SMTPDA_CONFIG', message: /MY_PW/ });
  assert.throws(() => configToAgentOptions(parseIni('[smtpda]\nmax-retry = many\n'), file), {
    message: /max-retry must be a number/,
  });
  assert.throws(() => configToAgentOptions(parseIni('[smtpda]\nssl = maybe\n'), file), {
    message: /ssl must be true or false/,
  });
  assert.throws(() => configToAgentOptions(parseIni('[smtpda]\nsmtp-sever = typo\n'), file), {
    message: /unknown key "smtp-sever"/,
  });
  assert.throws(() => configToAgentOptions(parseIni('[common]\nlog-path = x\n'), file), {
    message: /no \[smtpda\] section/,
  });
  assert.throws(() => readConfig(path.join(dir, 'missing.conf')), { message: /cannot be read \(ENOENT\)/ });
});

test('command-line options win over the file', { timeout: 60_000 }, () => {
  const a = parseArgs([
    '-f',
    'x.conf',
    'start',
    '--smtp-server',
    'h:2525',
    '--max-retry=3',
    '--no-ssl',
    '-v',
    '--spool',
    'sp',
  ]);
  assert.equal(a.verb, 'start');
  assert.equal(a.verbose, true);
  assert.deepEqual(a.overrides, { server: 'h:2525', maxRetry: 3, ssl: false, spool: path.resolve('sp') });
  assert.equal(parseArgs(['-d']).verb, 'start');
  assert.equal(parseArgs(['-s']).verb, 'stop');
  assert.equal(parseArgs(['-r']).verb, 'restart');
  assert.equal(parseArgs(['status']).verb, 'status');
  assert.throws(() => parseArgs(['--max-retry', 'x']), /needs a number/);
  assert.throws(() => parseArgs(['--bogus']), /unknown argument/);
});

test('defaults, the backoff and server strings', { timeout: 60_000 }, () => {
  const o = resolveAgentOptions({});
  assert.equal(o.maxRetry, 10);
  assert.equal(o.keepDays, 3);
  assert.equal(o.spool, path.join(os.tmpdir(), 'skitai', 'smtpda'));
  assert.deepEqual(
    [1, 2, 3, 4, 7, 8].map((n) => retryDelayMs(o, n) / 1000),
    [60, 120, 240, 480, 3600, 3600],
  );
  assert.throws(() => resolveAgentOptions({ maxRetry: 1.5 }), /maxRetry/);
  assert.throws(() => resolveAgentOptions({ concurrency: 0 }), /concurrency/);
  assert.deepEqual(parseServer('smtp.example.com'), { host: 'smtp.example.com', port: 25, secure: false });
  assert.deepEqual(parseServer('smtp.example.com', true), { host: 'smtp.example.com', port: 465, secure: true });
  assert.deepEqual(parseServer('[::1]:2525'), { host: '::1', port: 2525, secure: false });
  assert.throws(() => parseServer('::1:25'), /brackets/);
  assert.throws(() => parseServer('host:0'), /bad port/);
});

test('skitai-smtpda start / status / restart / stop as a daemon', { timeout: 60_000 }, async () => {
  const peer = await SmtpPeer.start();
  const dir = tempDir();
  const log = path.join(dir, 'log');
  const cfg = writeConfig(
    dir,
    { 'smtp-server': `127.0.0.1:${peer.port}`, spool: 'spool', 'poll-interval': 0.1, 'retry-delay': 0.1 },
    log,
  );
  const pidFile = path.join(dir, 'spool', 'smtpda.pid');
  try {
    let r = await cliOnce(['-f', cfg, 'status']);
    assert.equal(r.code, 3, r.output);
    assert.match(r.output, /stopped; 0 queued/);
    r = await cliOnce(['-f', cfg, 'start']);
    assert.equal(r.code, 0, r.output);
    const pid = Number(/started \(pid (\d+)\)/.exec(r.output)![1]);
    assert.equal(Number(fs.readFileSync(pidFile, 'utf8')), pid);
    r = await cliOnce(['-f', cfg, '-d']);
    assert.equal(r.code, 1);
    assert.match(r.output, /already running/);
    r = await cliOnce(['-f', cfg, 'status']);
    assert.equal(r.code, 0);
    assert.match(r.output, new RegExp(`running \\(pid ${pid}\\)`));
    // The daemon delivers what a server that only enqueues writes to the shared spool.
    await createMailer({ spool: path.join(dir, 'spool') })
      .email('to the daemon', 'a@example.com', 'b@example.com')
      .addContent('x')
      .send();
    await peer.waitForCount(1, 20_000);
    r = await cliOnce(['-f', cfg, 'restart']);
    assert.equal(r.code, 0, r.output);
    const pid2 = Number(/started \(pid (\d+)\)/.exec(r.output)![1]);
    assert.notEqual(pid2, pid);
    // Gone (a zombie until its new parent reaps it counts as alive for kill(0): wait for that).
    await waitUntil(() => !isAlive(pid), 15_000, 'the first daemon gone');
    r = await cliOnce(['-f', cfg, 'stop']);
    assert.equal(r.code, 0);
    assert.match(r.output, new RegExp(`stopped \\(pid ${pid2}\\)`));
    await waitUntil(() => !isAlive(pid2), 15_000, 'the daemon gone');
    assert.equal(fs.existsSync(pidFile), false);
    r = await cliOnce(['-f', cfg, 'stop']);
    assert.match(r.output, /not running/);
    assert.match(readLog(log), new RegExp(`agent pid ${pid2} stopped`));
    r = await cliOnce(['-f', path.join(dir, 'nope.conf')]);
    assert.equal(r.code, 2);
    assert.match(r.output, /cannot be read/);
  } finally {
    // A failed assertion must not leave a daemon behind.
    try {
      const left = Number(fs.readFileSync(pidFile, 'utf8'));
      if (left > 0) process.kill(left, 'SIGKILL');
    } catch {
      /* none */
    }
    await peer.close();
  }
});
