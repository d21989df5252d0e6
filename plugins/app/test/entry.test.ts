import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeAnswer, tempDir } from '@skitai/test-support';

// `import '@skitai/app'` (and '@skitai/xmlrpc', which it imports) loads dist/src/entry.js: the
// compiled modules in one script with V8's code cache (scripts/package-entry.mjs), as the kernel
// does. What differs from the kernel: it imports another ES module package (@skitai/kernel), and
// an App finds its own folder from the stack of `new App()`, which now runs in entry-modules.js.
const packages = {
  app: new URL('../../', import.meta.url),
  xmlrpc: new URL('../../../../lib/xmlrpc/', import.meta.url),
};
const maker = new URL('../../../../scripts/package-entry.mjs', import.meta.url);

for (const [name, dir] of Object.entries(packages)) {
  test(`@skitai/${name}: the package entry is the one-file entry, with every name of the index, up to date`, async () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('package.json', dir), 'utf8')) as {
      main: string;
      exports: Record<string, { default: string }>;
    };
    assert.equal(pkg.exports['.']?.default, './dist/src/entry.js');
    assert.equal(pkg.main, './dist/src/entry.js');
    const [fromEntry, fromIndex] = (await Promise.all([
      import(new URL('dist/src/entry.js', dir).href),
      import(new URL('dist/src/index.js', dir).href),
    ])) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(fromEntry!).sort(), Object.keys(fromIndex!).sort());
    assert.ok(Object.keys(fromIndex!).length > 5);
    const { entryIsStale } = (await import(maker.href)) as { entryIsStale(name: string): boolean };
    assert.equal(entryIsStale(`@skitai/${name}`), false, 'run node scripts/package-entry.mjs (scripts/build.mjs does)');
  });
}

test('an App from the entry finds its folder from the script that made it, starts its reloader, renders a template and answers XML-RPC', async () => {
  const dir = tempDir('skitai-app-entry-');
  try {
    fs.mkdirSync(path.join(dir, 'templates'));
    fs.writeFileSync(path.join(dir, 'templates', 'hello.html'), 'Hello {{ name }}');
    const script = path.join(dir, 'serve.mjs');
    fs.writeFileSync(
      script,
      `
      import { Kernel } from ${JSON.stringify(new URL('../../../../kernel/dist/src/entry.js', import.meta.url).href)};
      import { App } from ${JSON.stringify(new URL('dist/src/entry.js', packages.app).href)};
      // useReloader: its module hooks are registered by a path relative to reloader.js (a wrong one throws).
      const app = new App({ useReloader: true });
      app.route('/', (was) => was.render('hello.html', { name: 'entry' }));
      app.route('/add', { params: ['a', 'b'] }, (_was, args) => args.a + args.b);
      const kernel = new Kernel();
      kernel.mount('/', app);
      const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
      const page = await (await fetch('http://127.0.0.1:' + port + '/')).text();
      const rpc = await fetch('http://127.0.0.1:' + port + '/', {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: '<?xml version="1.0"?><methodCall><methodName>add</methodName><params>' +
          '<param><value><int>2</int></value></param><param><value><int>3</int></value></param></params></methodCall>',
      });
      console.log('ANSWER ' + JSON.stringify({ module: app.module, root: app.root, page, rpc: await rpc.text() }));
      await kernel.stop();
      `,
    );
    const answer = await nodeAnswer<{ module: string; root: string; page: string; rpc: string }>([script]);
    assert.equal(answer.module, pathToFileURL(script).href);
    assert.equal(answer.root, dir);
    assert.equal(answer.page, 'Hello entry');
    assert.match(answer.rpc, /<methodResponse>.*<int>5<\/int>/s);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
