import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../../src/index.js';
import { splitVerbs } from '../../src/cli.js';

test("splitVerbs: verbs and their short forms come out; an option's value is never a verb", () => {
  const options = {
    user: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    config: { type: 'string', short: 'f' },
  } as const;
  assert.deepEqual(splitVerbs(['-f', 'x.conf', 'start', '-v'], options), {
    verbs: ['start'],
    rest: ['-f', 'x.conf', '-v'],
  });
  assert.deepEqual(splitVerbs(['--user', 'start', '-s'], options), { verbs: ['stop'], rest: ['--user', 'start'] });
  assert.deepEqual(splitVerbs(['-f', 'status', 'restart', '-d'], options), {
    verbs: ['restart', 'start'],
    rest: ['-f', 'status'],
  });
});

test("parseCommandLine (util.parseArgs): grouped short flags, the script's own arguments kept as given, a verb after an option", () => {
  assert.deepEqual(parseCommandLine(['-vp', '80', 'restart', '--mine', 'x', '--also=1']), {
    verbose: true,
    port: 80,
    workers: undefined,
    verb: 'restart',
    rest: ['--mine', 'x', '--also=1'],
  });
  assert.throws(() => parseCommandLine(['--port']), /--port needs a whole number, got ""/);
  assert.throws(() => parseCommandLine(['--workers', '-1']), /--workers needs a whole number/);
});
