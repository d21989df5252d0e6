import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import vm from 'node:vm';
import { nodeAnswer } from '@skitai/test-support';

// `import '@skitai/kernel'` loads kernel/dist/src/entry.js: the compiled modules in one script
// (scripts/package-entry.mjs), since node's ESM loader costs about the same for every file,
// compiled with V8's code cache made at build time.
const entry = new URL('../../src/entry.js', import.meta.url);
const modules = new URL('../../src/entry-modules.js', import.meta.url);
const cache = new URL('../../src/entry-modules.cache', import.meta.url);
const index = new URL('../../src/index.js', import.meta.url);
const maker = new URL('../../../../scripts/package-entry.mjs', import.meta.url);

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
  const { entryIsStale } = (await import(maker.href)) as { entryIsStale(name: string): boolean };
  assert.equal(entryIsStale('@skitai/kernel'), false, 'run node scripts/package-entry.mjs (scripts/build.mjs does)');
});

/** Runs a kernel from the entry in a fresh node (with these node options) and returns what it answered. */
async function serveFromEntry(execArgv: string[]) {
  const script = `
    import { Kernel, getServerHeader } from ${JSON.stringify(entry.href)};
    const kernel = new Kernel();
    kernel.mount('/', (req, res) => res.end('ok'));
    const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
    const res = await fetch('http://127.0.0.1:' + port + '/');
    console.log('ANSWER ' + JSON.stringify({ body: await res.text(), server: res.headers.get('server'), own: getServerHeader() }));
    await kernel.stop();
  `;
  return nodeAnswer<{ body: string; server: string; own: string }>([...execArgv, '--input-type=module', '-e', script]);
}

test('a kernel from the entry serves and reads its version (its package.json, found from where its modules were compiled)', async () => {
  const answer = await serveFromEntry([]);
  const { version } = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(answer.body, 'ok');
  assert.equal(answer.server, answer.own);
  assert.ok(answer.server.includes(version), answer.server);
});

test('the code cache was made for this node: V8 takes it for the modules script', () => {
  const source = fs.readFileSync(modules, 'utf8');
  const madeBy = fs.readFileSync(new URL('../../src/entry-modules.cache-v8', import.meta.url), 'utf8');
  const taken = new vm.Script(source, { filename: 'entry-modules.js', cachedData: fs.readFileSync(cache) });
  // Under another node than the build's (CI runs the kernel's tests on Node 22 too), V8 refuses
  // the cache and the entry compiles from source: that refusal is what is checked there.
  assert.equal(taken.cachedDataRejected, madeBy !== process.versions.v8, `cache made by V8 ${madeBy}`);
  // And the same cache for another script is refused, not run: what makes a stale cache harmless.
  const other = new vm.Script(`${source}\n;`, { filename: 'other.js', cachedData: fs.readFileSync(cache) });
  assert.equal(other.cachedDataRejected, true);
});

test('under V8 flags the cache was not made with, V8 refuses it and the entry compiles from source', async () => {
  const refused = await new Promise<string>((resolve, reject) => {
    const check = `const vm = require('node:vm'), fs = require('node:fs');
      const s = new vm.Script(fs.readFileSync(${JSON.stringify(modules.pathname)}, 'utf8'), { cachedData: fs.readFileSync(${JSON.stringify(cache.pathname)}) });
      console.log(s.cachedDataRejected);`;
    execFile(process.execPath, ['--max-lazy', '-e', check], (err, stdout) =>
      err ? reject(new Error(err.message)) : resolve(stdout.trim()),
    );
  });
  assert.equal(refused, 'true');
  const answer = await serveFromEntry(['--max-lazy']);
  assert.equal(answer.body, 'ok');
  assert.equal(answer.server, answer.own);
});
