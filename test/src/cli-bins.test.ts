// The commands the plugins install (skitai-cron, skitai-smtpda) run through npm's bin links
// from a fresh install: the links point at committed, executable files, not at build output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repo } from '../support/net.js';

function run(command: string, args: string[]) {
  // As `npx skitai-cron ...` runs it: the bin link, executed by its shebang.
  return spawnSync(path.join(repo, 'node_modules/.bin', command), args, {
    cwd: repo,
    encoding: 'utf8',
    timeout: 20_000,
  });
}

for (const command of ['skitai-cron', 'skitai-smtpda']) {
  test(`${command}: linked by npm to its committed bin file, and it runs`, () => {
    const link = path.join(repo, 'node_modules/.bin', command);
    const target = fs.realpathSync(link);
    assert.match(path.relative(repo, target), new RegExp(`^plugins/[a-z]+/bin/${command}\\.js$`));
    assert.ok((fs.statSync(target).mode & 0o111) !== 0, 'executable');
    const help = run(command, ['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^(usage|Usage): ${command}`, 'm'));
  });
}

test('skitai-cron -f conf status reads the file and says the scheduler is stopped (exit 3)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-bin-'));
  const conf = path.join(dir, 'skitai.conf');
  fs.writeFileSync(conf, `[cron]\nvar-path = ${dir}\n\n[:crontab]\n0 3 * * * true\n`);
  const r = run('skitai-cron', ['-f', conf, 'status']);
  assert.equal(r.status, 3, r.stderr + r.stdout);
  fs.rmSync(dir, { recursive: true, force: true });
});
