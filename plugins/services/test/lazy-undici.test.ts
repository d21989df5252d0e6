// undici is loaded on the first outbound call, not when @skitai/services is imported or used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

const script = `
  import http from 'node:http';
  import { createRequire } from 'node:module';
  import { Kernel } from '@skitai/kernel';
  import { services, servicesOf, createPool } from '@skitai/services';
  const undiciFiles = () => Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/node_modules/undici/')).length;
  const seen = { imported: undiciFiles() };
  const backend = http.createServer((req, res) => res.setHeader('content-type', 'text/plain').end('pong'));
  await new Promise((r) => backend.listen(0, '127.0.0.1', r));
  const kernel = new Kernel().use(services());
  kernel.alias('@b', 'http', '127.0.0.1:' + backend.address().port);
  kernel.mount('/', (req, res) => res.end('ok'));
  await kernel.start({ address: '127.0.0.1', port: 0 });
  seen.started = undiciFiles();
  const r = await servicesOf(kernel).context().http('GET')('@b/ping');
  seen.called = undiciFiles();
  seen.answer = [r.statusCode, r.data, r.headers['content-length']];
  seen.pool = createPool('http://127.0.0.1:1', { keepAlive: 1000, connectTimeout: 1000 }).constructor.name;
  await kernel.stop();
  backend.close();
  console.log('SEEN ' + JSON.stringify(seen));
`;

test('importing @skitai/services and starting a kernel with it load no undici; the first outbound call does', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
  const line = out.split('\n').find((l) => l.startsWith('SEEN '));
  assert.ok(line, out);
  const seen = JSON.parse(line.slice(5)) as {
    imported: number;
    started: number;
    called: number;
    answer: unknown[];
    pool: string;
  };
  assert.equal(seen.imported, 0);
  assert.equal(seen.started, 0);
  assert.ok(seen.called > 10, `undici loaded for the call (${seen.called} files)`);
  assert.deepEqual(seen.answer, [200, 'pong', '4']);
  assert.equal(seen.pool, 'Pool');
});
