import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { App } from '../src/index.js';
import { serve } from '../test-support/app-server.js';

const require = createRequire(import.meta.url);

test('was.render with nunjucks: was in templates, globals, filters, overlay; loaded only on first render', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-tpl-'));
  fs.mkdirSync(path.join(dir, 'templates'));
  fs.mkdirSync(path.join(dir, 'resources'));
  fs.writeFileSync(
    path.join(dir, 'templates', 'hello.html'),
    '<h1>{{ title }}</h1><p>{{ was.request.args.name }}</p><a href="{{ was.ab(\'item\', 3) }}">i</a>' +
      '<i>{{ "Hello" | reverse }}</i><b>{{ argnames() }}</b><u>{{ was.g.who }}</u>{{ html }}',
  );
  fs.writeFileSync(path.join(dir, 'templates', 'vue.html'), '<div>{{ vue }}</div><p>[= server =]</p>');
  const app = new App({ root: dir, config: { answer: 42 } });
  app.templateFilter('reverse', (s: string) => [...s].reverse().join(''));
  app.templateGlobal('argnames', (was) => Object.keys(was.request.args).join(','));
  app.route('/hello', (was) => {
    was.g.who = 'g-value';
    return was.render('hello.html', { title: 'T', html: '<script>' });
  });
  app.route('/item/<int:id>', { name: 'item' }, () => '');
  app.route('/resource', (was) => ({ path: was.app.getResource('db', 'x.db'), answer: was.app.config.answer }));
  const vue = new App({ root: dir });
  vue.templateOverlay({ variableStart: '[=', variableEnd: '=]' });
  vue.route('/', (was) => was.render('vue.html', { server: 'from server' }));
  const s = await serve([
    ['/', app],
    ['/vue', vue],
  ]);
  try {
    const key = require.resolve('nunjucks');
    assert.equal(key in require.cache, false, 'nunjucks is not loaded before a render');
    const r = await fetch(`${s.base}/hello?name=Hans&x=1`);
    assert.equal(
      await r.text(),
      '<h1>T</h1><p>Hans</p><a href="/item/3">i</a><i>olleH</i><b>name,x</b><u>g-value</u>&lt;script&gt;',
    );
    assert.equal(key in require.cache, true);
    assert.equal(await (await fetch(`${s.base}/vue/`)).text(), '<div>{{ vue }}</div><p>from server</p>');
    assert.deepEqual(await (await fetch(`${s.base}/resource`)).json(), {
      path: path.join(dir, 'resources', 'db', 'x.db'),
      answer: 42,
    });
  } finally {
    await s.close();
  }
});
