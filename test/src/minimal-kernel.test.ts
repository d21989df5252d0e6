// A server that mounts only an Express app loads the kernel and nothing of the plugins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { repo } from '../support/net.js';

test('an Express-only startup script loads no module of @skitai/app or @skitai/services, no busboy or nunjucks', () => {
  const out = execFileSync(process.execPath, [path.join(repo, 'bench/startup/modules.mjs')], {
    cwd: repo,
    encoding: 'utf8',
  });
  const counts = new Map([...out.matchAll(/^ {2}(\S+)\s+(\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  // The kernel is one file (dist/src/entry.js, all its modules) and the package.json it reads.
  const kernelFiles = counts.get('kernel') ?? 0;
  assert.ok(kernelFiles >= 1 && kernelFiles <= 2, `the kernel's files are counted (entry.js, package.json):\n${out}`);
  assert.ok((counts.get('express') ?? 0) > 0, `express is counted:\n${out}`);
  for (const name of ['plugins/app', 'plugins/services', 'lib/xmlrpc', 'busboy', 'nunjucks', 'undici']) {
    assert.equal(counts.get(name), undefined, `${name} was loaded:\n${out}`);
  }
  const kernelPackage = JSON.parse(fs.readFileSync(path.join(repo, 'kernel/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  assert.deepEqual(Object.keys(kernelPackage.dependencies).sort(), ['semver', 'tapable']);
});
