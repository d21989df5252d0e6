// Skitai's pref (kernel.pref()) applied to an App mounted with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, Pref } from '@skitai/kernel';
import { App } from '../src/index.js';

test('pref: bootstrap(pref) runs, then its properties override the app and its config merges over app.config', async () => {
  const kernel = new Kernel();
  const app = new App({ config: { keep: 1, a: 0 } });
  let seen: unknown;
  (app as any).bootstrap = (pref: Pref) => {
    seen = pref.debug;
    pref.config.loaded = 'by bootstrap';
  };
  const pref = kernel.pref({ debug: true });
  pref.config.a = 1;
  pref.maxPostBodySize = 1234;
  kernel.mount('/', app, { pref } as any);
  await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    assert.equal(seen, true);
    assert.equal(app.debug, true);
    assert.equal(app.maxPostBodySize, 1234);
    assert.deepEqual(app.config, { keep: 1, a: 1, loaded: 'by bootstrap' });
  } finally {
    await kernel.stop();
  }
});
