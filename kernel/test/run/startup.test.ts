import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

// What a single-process kernel loads at start: semver, all of tapable and the parts of node that
// an ESM import of a builtin's whole namespace would load come only when something needs them
// (start-up time is mostly module loading). node:cluster is not among them: net's listen() loads it.
const index = new URL('../../src/index.js', import.meta.url).href;

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

const semverFiles = (l: Loaded) => l.files.filter((f) => f.includes('/node_modules/semver/'));

test("a single process without plugins loads neither semver, tapable's index, webcrypto nor util's parseArgs and MIME", async () => {
  const loaded = await loadedBy(false);
  for (const unneeded of ['internal/crypto/webcrypto', 'internal/util/parse_args/parse_args', 'internal/mime'])
    assert.ok(!loaded.builtins.includes(`NativeModule ${unneeded}`), `${unneeded} loaded`);
  assert.deepEqual(semverFiles(loaded), []);
  assert.ok(loaded.files.some((f) => f.endsWith('/tapable/lib/AsyncSeriesHook.js')));
  assert.ok(!loaded.files.some((f) => f.endsWith('/tapable/lib/index.js')), "tapable's index loaded");
});

test("semver is loaded when a plugin's kernel range is checked", async () => {
  const loaded = await loadedBy(true);
  assert.ok(semverFiles(loaded).some((f) => f.endsWith('/functions/satisfies.js')));
});
