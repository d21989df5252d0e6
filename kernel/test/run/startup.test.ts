import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

// What a single-process kernel loads at start: semver, all of tapable and the parts of node that
// an ESM import of a builtin's whole namespace would load come only when something needs them
// (start-up time is mostly module loading). node:cluster is not among them: net's listen() loads it.
// The file behind `import '@skitai/kernel'` (the one-file entry made from the compiled modules).
const index = new URL('../../src/entry.js', import.meta.url).href;

interface Loaded {
  builtins: string[];
  files: string[];
}

/** Starts and stops a kernel with one handler in a fresh node; `withPlugin` also uses a plugin. */
function loadedBy(withPlugin: boolean): Promise<Loaded> {
  const script = `
    import { createRequire } from 'node:module';
    import { Kernel, definePlugin } from ${JSON.stringify(index)};
    const kernel = new Kernel();
    if (${withPlugin}) kernel.use(definePlugin({ name: 'p', version: '1.0.0', kernel: '*', apply() {} }));
    kernel.mount('/', (req, res) => res.end('ok'));
    await kernel.start({ address: '127.0.0.1', port: 0 });
    await kernel.stop();
    const files = Object.keys(createRequire(import.meta.url).cache);
    console.log('LOADED ' + JSON.stringify({ builtins: process.moduleLoadList, files }));
  `;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('LOADED '));
      if (err || !line) return reject(new Error(`the script failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
      resolve(JSON.parse(line.slice('LOADED '.length)) as Loaded);
    });
  });
}

/** What bare node:http loads for the same start and stop (node 22 loads internal/mime itself). */
function loadedByNode(): Promise<string[]> {
  const script = `
    import { createServer } from 'node:http';
    const server = createServer((req, res) => res.end('ok'));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    await new Promise((r) => server.close(r));
    console.log('LOADED ' + JSON.stringify(process.moduleLoadList));
  `;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('LOADED '));
      if (err || !line) return reject(new Error(`the script failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
      resolve(JSON.parse(line.slice('LOADED '.length)) as string[]);
    });
  });
}

const semverFiles = (l: Loaded) => l.files.filter((f) => f.includes('/node_modules/semver/'));

test("a single process without plugins loads neither semver, tapable's index, webcrypto nor util's parseArgs and MIME", async () => {
  const [loaded, bare] = await Promise.all([loadedBy(false), loadedByNode()]);
  for (const unneeded of ['internal/crypto/webcrypto', 'internal/util/parse_args/parse_args', 'internal/mime']) {
    const name = `NativeModule ${unneeded}`;
    // Only what the kernel would add: a node version that loads it for bare node:http is not ours.
    if (!bare.includes(name)) assert.ok(!loaded.builtins.includes(name), `${unneeded} loaded`);
  }
  // On node 20 the check above bites for every one of them.
  if (process.versions.node.startsWith('20.')) assert.ok(!bare.includes('NativeModule internal/mime'));
  assert.deepEqual(semverFiles(loaded), []);
  assert.ok(loaded.files.some((f) => f.endsWith('/tapable/lib/AsyncSeriesHook.js')));
  assert.ok(!loaded.files.some((f) => f.endsWith('/tapable/lib/index.js')), "tapable's index loaded");
});

test("semver is loaded when a plugin's kernel range is checked", async () => {
  const loaded = await loadedBy(true);
  assert.ok(semverFiles(loaded).some((f) => f.endsWith('/functions/satisfies.js')));
});
