// The App's `was` members go through the kernel's registry like a plugin's: claimed at mount().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlugin, Kernel } from '@skitai/kernel';
import { App, APP_WAS_MEMBERS } from '../src/index.js';

test('a plugin that adds was.render clashes with a mounted App at mount(), naming both', () => {
  const renders = definePlugin({
    name: '@acme/render',
    version: '1.0.0',
    kernel: '^0.1.0',
    was: ['render'],
    apply() {},
  });
  const kernel = new Kernel().use(renders);
  assert.throws(
    () => kernel.mount('/', new App()),
    (e: Error & { code?: string }) =>
      e.code === 'SKT_WAS_EXTENSION_DUPLICATE' &&
      e.message === 'was.render is defined twice: by @acme/render and by @skitai/app',
  );
});

test("two Apps share their members; the kernel lists them as the App's", async () => {
  const kernel = new Kernel();
  const a = new App();
  a.route('/', async () => 'a');
  const b = new App();
  b.route('/', async () => 'b');
  kernel.mount('/a', a).mount('/b', b);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/b/`)).text(), 'b');
    for (const name of APP_WAS_MEMBERS) assert.equal(kernel.wasMembers().get(name), '@skitai/app', name);
  } finally {
    await kernel.stop();
  }
});
