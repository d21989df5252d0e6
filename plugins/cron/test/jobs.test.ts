// Jobs as written (crontab lines, pairs, objects), the checks made at start, and the INI reader.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Cron } from 'croner';
import { checkJobs, CronError, CronLog, normalizeJobs, parseIni, Scheduler, splitCrontabLine } from '../src/index.js';
import { commandWord, cronOptions } from '../src/jobs.js';
import { FIXTURES, tempDir, cleanup } from '../test-support/helpers.js';

after(cleanup);

const cwd = FIXTURES;
const refused = (fn: () => unknown, code: string, ...patterns: RegExp[]) => {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CronError, `a CronError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
};

describe('crontab lines', () => {
  it('split into five time fields and the command, verbatim', () => {
    assert.deepEqual(splitCrontabLine('*/2 */2 * * *  /home/apps/monitor  > /home/apps/monitor.log 2>&1'), {
      spec: '*/2 */2 * * *',
      command: '/home/apps/monitor  > /home/apps/monitor.log 2>&1',
    });
    assert.deepEqual(splitCrontabLine('@daily tar czf x.tgz .'), { spec: '@daily', command: 'tar czf x.tgz .' });
  });

  it('take six fields with the seconds option, and refuse a line without a command', () => {
    assert.deepEqual(splitCrontabLine('*/5 * * * * * date', true), { spec: '*/5 * * * * *', command: 'date' });
    assert.deepEqual(splitCrontabLine('0 30 4 * * MON-FRI ./x.sh', true), {
      spec: '0 30 4 * * MON-FRI',
      command: './x.sh',
    });
    // A sixth token that is a command keeps the line at five fields.
    assert.deepEqual(splitCrontabLine('*/5 * * * * date +%s', true), { spec: '*/5 * * * *', command: 'date +%s' });
    assert.deepEqual(splitCrontabLine('* * * * * *', true), { spec: '* * * * *', command: '*' });
    refused(() => splitCrontabLine('* * * * *'), 'SKT_CRON_JOB', /5 time fields and then a command/);
  });

  it('normalize pairs, objects and module: commands; a relative module resolves against cwd', () => {
    const jobs = normalizeJobs(
      [
        ['*/2 * * * *', 'echo a'],
        { spec: '0 3 * * *', command: 'echo b', name: 'nightly', timezone: 'Asia/Seoul' },
        { spec: '0 * * * *', module: './jobs.mjs', export: 'tick', args: { file: 'x' } },
        '15 * * * * module:./jobs.mjs#boom',
      ],
      { cwd },
    );
    assert.deepEqual(
      jobs.map((j) => [j.name, j.kind]),
      [
        ['#1', 'command'],
        ['nightly', 'command'],
        ['#3', 'function'],
        ['#4', 'function'],
      ],
    );
    const fn = jobs[2]!;
    assert.ok(fn.kind === 'function');
    assert.equal(fn.module, pathToFileURL(path.join(FIXTURES, 'jobs.mjs')).href);
    assert.equal(fn.exportName, 'tick');
    assert.deepEqual(fn.args, { file: 'x' });
    assert.equal(jobs[3]!.kind === 'function' && jobs[3]!.exportName, 'boom');
    assert.equal(jobs[1]!.timezone, 'Asia/Seoul');
  });

  it('read the first word the shell runs', () => {
    assert.equal(commandWord('FOO=1 BAR="a b" /usr/bin/env x'), '/usr/bin/env');
    assert.equal(commandWord("'my tool' --x"), 'my tool');
    assert.equal(commandWord('ls>out'), 'ls');
    assert.equal(commandWord('(cd /tmp && ls)'), '(');
  });
});

describe('checks at start', () => {
  const check = (inputs: Parameters<typeof normalizeJobs>[0], options: { seconds?: boolean; timezone?: string } = {}) =>
    checkJobs(normalizeJobs(inputs, { cwd, ...options }), { cwd, ...options });

  it("accept Skitai's own examples and POSIX forms", () => {
    check([
      '*/2 */2 * * * echo a > /dev/null 2>&1',
      '9 2/12 * * * echo b',
      '0 0 * * 7 true',
      '30 4 1,15 * MON-FRI sh -c "exit 0"',
      '@hourly cd /tmp && ls',
      '0 0 1 1 * FOO=1 env',
    ]);
  });

  it('refuse a bad spec, naming the job', () => {
    refused(
      () => check(['*/2 * * * * echo ok', '61 * * * * echo bad']),
      'SKT_CRON_SPEC',
      /cron job #2 \(61 \* \* \* \* echo bad\)/,
      /minute/,
    );
    refused(
      () => check([{ spec: '* * * 13 *', command: 'true', name: 'monthly' }]),
      'SKT_CRON_SPEC',
      /cron job monthly/,
    );
    refused(() => check(['0 0 31 2 * true']), 'SKT_CRON_SPEC', /never due/);
    refused(() => check(['@reboot true']), 'SKT_CRON_SPEC', /#1/);
  });

  it('refuse a seconds field unless the seconds option is on', () => {
    refused(() => check([['* * * * * *', 'true']]), 'SKT_CRON_SPEC', /seconds field needs the `seconds` option/);
    check([['* * * * * *', 'true']], { seconds: true });
    refused(() => check([['0 0 0 * * * *', 'true']], { seconds: true }), 'SKT_CRON_SPEC', /7 parts/);
  });

  it('refuse an unknown command or a missing executable, naming the job', () => {
    refused(
      () => check(['* * * * * echo fine', '0 * * * * no-such-command-xyz --flag > /dev/null']),
      'SKT_CRON_COMMAND',
      /cron job #2/,
      /unknown command "no-such-command-xyz" \(not found on PATH\)/,
    );
    refused(() => check(['0 * * * * ./missing.sh']), 'SKT_CRON_COMMAND', /missing\.sh is not an executable file/);
    const dir = tempDir();
    const script = path.join(dir, 'job.sh');
    fs.writeFileSync(script, '#!/bin/sh\nexit 0\n');
    refused(
      () => checkJobs(normalizeJobs(['0 * * * * ./job.sh'], { cwd: dir }), { cwd: dir }),
      'SKT_CRON_COMMAND',
      /not an executable/,
    );
    fs.chmodSync(script, 0o755);
    checkJobs(normalizeJobs(['0 * * * * ./job.sh', '0 * * * * LANG=C ./job.sh'], { cwd: dir }), { cwd: dir });
  });

  it('refuse a function job whose module or export is wrong', () => {
    check([{ spec: '0 * * * *', module: './jobs.mjs', export: 'tick' }]);
    refused(
      () => check([{ spec: '0 * * * *', module: './jobs.mjs', export: 'nope', name: 'n' }]),
      'SKT_CRON_COMMAND',
      /cron job n/,
      /export "nope" is missing/,
    );
    refused(
      () => check([{ spec: '0 * * * *', module: './jobs.mjs', export: 'notAFunction' }]),
      'SKT_CRON_COMMAND',
      /a number, not a function/,
    );
    refused(
      () => check([{ spec: '0 * * * *', module: './bad-import.mjs' }]),
      'SKT_CRON_COMMAND',
      /fails to load: this module fails on purpose/,
    );
    refused(() => check(['0 * * * * module:./nowhere.mjs#x']), 'SKT_CRON_COMMAND', /cannot find the module/);
  });

  it('refuse an unknown time zone and a name used twice', () => {
    refused(
      () => check(['0 * * * * true'], { timezone: 'Mars/Olympus' }),
      'SKT_CRON_OPTION',
      /unknown time zone "Mars\/Olympus"/,
    );
    refused(() => check([{ spec: '0 * * * *', command: 'true', timezone: 'Nowhere/X' }]), 'SKT_CRON_OPTION', /#1/);
    refused(
      () =>
        check([
          { spec: '0 * * * *', command: 'true', name: 'a' },
          { spec: '1 * * * *', command: 'true', name: 'a' },
        ]),
      'SKT_CRON_JOB',
      /used twice/,
    );
  });
});

describe('time zones', () => {
  it("read a spec in the scheduler's zone, or the job's own", async () => {
    const dir = tempDir();
    const jobs = normalizeJobs(
      [
        { spec: '0 9 * * *', command: 'true', name: 'seoul', timezone: 'Asia/Seoul' },
        { spec: '0 9 * * *', command: 'true', name: 'default' },
      ],
      { cwd: dir },
    );
    const s = new Scheduler(jobs, { log: new CronLog({ logpath: dir }), cwd: dir, timezone: 'America/New_York' });
    s.start();
    try {
      const [seoul, ny] = s.status();
      assert.equal(seoul!.nextRun!.getUTCHours(), 0, '09:00 in Seoul is 00:00 UTC');
      assert.ok([13, 14].includes(ny!.nextRun!.getUTCHours()), '09:00 in New York is 13:00 or 14:00 UTC');
      assert.match(fs.readFileSync(path.join(dir, 'cron.log'), 'utf8'), /time zone America\/New_York/);
    } finally {
      await s.stop();
    }
  });

  it('follow croner across daylight saving time: fixed times once, intervals skip the gap and repeat the hour', () => {
    const next = (spec: string, from: string, n: number) => {
      const job = normalizeJobs([[spec, 'true']], { cwd })[0]!;
      return new Cron(spec, { ...cronOptions(job, { timezone: 'Europe/Berlin' }), paused: true })
        .nextRuns(n, from)
        .map((d) => d.toISOString().slice(0, 16));
    };
    // 2027-03-28: 02:00 CET jumps to 03:00 CEST.
    assert.deepEqual(next('30 2 * * *', '2027-03-27T12:00:00Z', 2), ['2027-03-28T01:00', '2027-03-29T00:30']);
    assert.deepEqual(next('*/30 * * * *', '2027-03-28T00:40:00Z', 2), ['2027-03-28T01:00', '2027-03-28T01:30']);
    // 2027-10-31: 03:00 CEST goes back to 02:00 CET.
    assert.deepEqual(next('30 2 * * *', '2027-10-30T12:00:00Z', 2), ['2027-10-31T00:30', '2027-11-01T01:30']);
    assert.deepEqual(next('30 * * * *', '2027-10-30T23:40:00Z', 3), [
      '2027-10-31T00:30',
      '2027-10-31T01:30',
      '2027-10-31T02:30',
    ]);
  });
});

describe('Skitai config files', () => {
  it('read sections, list sections taken whole, comments and booleans', () => {
    const ini = parseIni(
      [
        '# ~/.skitai.conf',
        '[common]',
        'log-path = /var/log/skitai',
        '',
        '[smtpda]',
        'max-retry = 10',
        '',
        '[cron]',
        'verbose = false',
        'process-display-name = skitai-cron',
        '',
        '[:crontab]',
        '# Example: 0/5 * * * * /usr/bin/python3 something',
        '*/2 * * * * FOO=1 /home/apps/monitor > /home/apps/monitor.log 2>&1',
        '9 2/12 * * * /home/apps/report ; echo done',
      ].join('\n'),
    );
    assert.equal(ini.sections.common!['log-path'], '/var/log/skitai');
    assert.equal(ini.sections.cron!['process-display-name'], 'skitai-cron');
    assert.equal(ini.sections.smtpda!['max-retry'], '10');
    assert.deepEqual(ini.lists.crontab, [
      '*/2 * * * * FOO=1 /home/apps/monitor > /home/apps/monitor.log 2>&1',
      '9 2/12 * * * /home/apps/report ; echo done',
    ]);
  });

  it('refuse a key outside any section, with its line number', () => {
    assert.throws(() => parseIni('log-path = x\n', 'a.conf'), /a\.conf line 1: .* outside any \[section\]/);
    assert.throws(() => parseIni('[cron]\njust words\n', 'a.conf'), /a\.conf line 2: expected "key = value"/);
  });
});
