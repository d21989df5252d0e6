// Runs every compiled test file of every package with node's own runner, once, from the
// root, so that the closing `tests / pass / fail` lines cover the whole repository.
//   node scripts/test.mjs                 all tests
//   node scripts/test.mjs kernel/dist/test/static   only files under these paths
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensurePackageEntries } from './package-entry.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const testRoots = ['kernel/dist/test', 'lib/xmlrpc/dist/test', 'test/dist/src'];
for (const plugin of fs.existsSync(path.join(root, 'plugins')) ? fs.readdirSync(path.join(root, 'plugins')) : []) {
  testRoots.push(`plugins/${plugin}/dist/test`);
}

function collect(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) collect(full, out);
    else if (entry.name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const filters = process.argv.slice(2).map((p) => path.resolve(root, p));
const files = testRoots
  .flatMap((dir) => collect(path.join(root, dir), []))
  .filter((file) => filters.length === 0 || filters.some((f) => file.startsWith(f)))
  .sort();
if (files.length === 0) {
  console.error('no test files found: run `tsc -b` first');
  process.exit(1);
}
// After a bare `tsc -b` the one-file entries may be older than what tsc wrote: remake them.
await ensurePackageEntries();
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=120000', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
