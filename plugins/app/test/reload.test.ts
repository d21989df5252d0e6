import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from '../src/index.js';
import { waitUntil } from '@skitai/test-support';
import { serve } from '../test-support/app-server.js';

const kernelUrl = new URL('../src/index.js', import.meta.url).href;

/** The reloader learns of a change from its fs.watch, a moment later: asked until it did. */
const until = (check: () => Promise<boolean>, ms = 3000) => waitUntil(check, ms, 'the change picked up', 20);

test('decorate(app) modules with arguments', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-deco-'));
  fs.writeFileSync(
    path.join(dir, 'auth.mjs'),
    'export function decorate(app, prefix) { app.route(prefix + "/login", () => "login at " + prefix); }\n',
  );
  const app = new App({ root: dir });
  await app.decorateWith('./auth.mjs', '/regist');
  const s = await serve(app);
  try {
    assert.equal(await (await fetch(`${s.base}/regist/login`)).text(), 'login at /regist');
  } finally {
    await s.close();
  }
});

test(
  'useReloader: a changed app module, helper module or decorate module is picked up on the next request',
  { timeout: 15000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-reload-'));
    fs.mkdirSync(path.join(dir, 'lib'));
    fs.writeFileSync(path.join(dir, 'lib', 'msg.mjs'), 'export const message = "v1";\n');
    fs.writeFileSync(
      path.join(dir, 'views.mjs'),
      'export function decorate(app) { app.route("/view", () => "view v1"); }\n',
    );
    const appSource = (extra: string) => `import { App } from ${JSON.stringify(kernelUrl)};
import { message } from './lib/msg.mjs';
export const app = new App({ useReloader: true });
app.route('/', () => message);
${extra}
await app.decorateWith('./views.mjs');
`;
    fs.writeFileSync(path.join(dir, 'app.mjs'), appSource(''));
    const { app } = (await import(pathToFileURL(path.join(dir, 'app.mjs')).href)) as { app: App };
    const s = await serve(app);
    const text = async (p: string) => {
      const r = await fetch(s.base + p);
      return `${r.status} ${await r.text()}`;
    };
    try {
      assert.equal(await text('/'), '200 v1');
      assert.equal(await text('/view'), '200 view v1');
      fs.writeFileSync(path.join(dir, 'lib', 'msg.mjs'), 'export const message = "v2";\n');
      await until(async () => (await text('/')) === '200 v2');
      fs.writeFileSync(
        path.join(dir, 'views.mjs'),
        'export function decorate(app) { app.route("/view", () => "view v2"); }\n',
      );
      await until(async () => (await text('/view')) === '200 view v2');
      fs.writeFileSync(path.join(dir, 'app.mjs'), appSource("app.route('/new', () => 'new route');"));
      await until(async () => (await text('/new')) === '200 new route');
      assert.equal(await text('/'), '200 v2');
    } finally {
      await s.close();
    }
  },
);

test(
  'useReloader in the startup script: only decorate modules reload, without duplicates',
  { timeout: 15000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-reload-main-'));
    const views = (v: string) => `export function decorate(app, prefix) {
  app.route(prefix + '/v', () => '${v}');
  app.beforeRequest((was) => { was.g.hooks = (was.g.hooks ?? 0) + 1; });
}
`;
    fs.writeFileSync(path.join(dir, 'views.mjs'), views('one'));
    // Created in this test file, which is the process's main script.
    const app = new App({ root: dir, useReloader: true });
    app.route('/hooks', (was) => String(was.g.hooks));
    await app.decorateWith('./views.mjs', '/p');
    const s = await serve(app);
    const text = async (p: string) => (await fetch(s.base + p)).text();
    try {
      assert.equal(await text('/p/v'), 'one');
      fs.writeFileSync(path.join(dir, 'views.mjs'), views('two'));
      await until(async () => (await text('/p/v')) === 'two');
      assert.equal(await text('/hooks'), '1');
      assert.equal(app.router.all.filter((r) => r.rule.source === '/p/v').length, 1);
    } finally {
      await s.close();
    }
  },
);
