// skitai-cron's command line, read with node's util.parseArgs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../src/cli.js';

test('options, the verb and crontab lines; an unknown option and two verbs are refused', () => {
  assert.deepEqual(
    parseArgs([
      '-f',
      'a.conf',
      '-v',
      'start',
      '--log-path=logs',
      '--process-display-name',
      'c1',
      '--seconds',
      '* * * * * true',
    ]),
    {
      lines: ['* * * * * true'],
      config: 'a.conf',
      verbose: true,
      verb: 'start',
      logPath: 'logs',
      pname: 'c1',
      seconds: true,
    },
  );
  assert.equal(parseArgs(['-s']).verb, 'stop');
  assert.equal(parseArgs(['--pname', 'status']).pname, 'status', 'a value is not a verb');
  assert.throws(() => parseArgs(['--bogus']), {
    code: 'SKT_CRON_OPTION',
    message: /Unknown option '--bogus' \(see --help\)/,
  });
  assert.throws(() => parseArgs(['start', 'stop']), { code: 'SKT_CRON_OPTION', message: /two verbs: start and stop/ });
  assert.throws(() => parseArgs(['--cwd']), { code: 'SKT_CRON_OPTION' });
});
