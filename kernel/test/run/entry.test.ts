import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFile } from 'node:child_process';

// `import '@skitai/kernel'` loads kernel/dist/src/entry.js: the compiled modules in one file
// (scripts/kernel-entry.mjs), since node's ESM loader costs about the same for every file.
const entry = new URL('../../src/entry.js', import.meta.url);
const index = new URL('../../src/index.js', import.meta.url);
const maker = new URL('../../../../scripts/kernel-entry.mjs', import.meta.url);

test('the package entry is the one-file entry, and it exports every name of the index', async () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    exports: Record<string, { default: string }>;
  };
  assert.equal(pkg.exports['.']?.default, './dist/src/entry.js');
  const [fromEntry, fromIndex] = await Promise.all([import(entry.href), import(index.href)]);
  assert.deepEqual(Object.keys(fromEntry as object).sort(), Object.keys(fromIndex as object).sort());
  assert.ok(Object.keys(fromIndex as object).length > 40);
  // Its own copies, not the separate files: one module graph per process.
  const { Kernel } = fromEntry as typeof import('../../src/index.js');
  assert.notEqual(Kernel, (fromIndex as typeof import('../../src/index.js')).Kernel);
});

test('the entry is not older than the files it is made from', async () => {
  const { entryIsStale } = (await import(maker.href)) as { entryIsStale(): boolean };
  assert.equal(entryIsStale(), false, 'run node scripts/kernel-entry.mjs (scripts/build.mjs does)');
});

test('a kernel from the entry serves and reads its version (its package.json, found from where its modules were compiled)', async () => {
  const script = `
    import { Kernel, getServerHeader } from ${JSON.stringify(entry.href)};
    const kernel = new Kernel();
    kernel.mount('/', (req, res) => res.end('ok'));
    const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
    const res = await fetch('http://127.0.0.1:' + port + '/');
    console.log('ANSWER ' + JSON.stringify({ body: await res.text(), server: res.headers.get('server'), own: getServerHeader() }));
    await kernel.stop();
  `;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
  const line = out.split('\n').find((l) => l.startsWith('ANSWER '));
  assert.ok(line, out);
  const answer = JSON.parse(line.slice('ANSWER '.length)) as { body: string; server: string; own: string };
  const { version } = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(answer.body, 'ok');
  assert.equal(answer.server, answer.own);
  assert.ok(answer.server.includes(version), answer.server);
});
