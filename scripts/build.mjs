// Compiles every package (tsc -b, incremental), saying so: the first build on a fresh clone
// takes about a minute; later ones only check what changed (a few seconds).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePackageEntries } from './package-entry.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const first = !fs.existsSync(path.join(root, 'kernel/dist'));
process.stderr.write(
  first
    ? 'skitai: compiling the packages (tsc -b), about a minute on a fresh clone...\n'
    : 'skitai: checking the build (tsc -b)...\n',
);
const started = Date.now();
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  process.stderr.write('skitai: the build failed (errors above)\n');
  process.exit(result.status ?? 1);
}
// The one-file entries (the files behind `import '@skitai/kernel'`, '@skitai/app'...) from what tsc wrote.
await ensurePackageEntries();
process.stderr.write(`skitai: built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
