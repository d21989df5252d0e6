import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REQUEST_LOG_FIELDS, parseRequestLine } from '../../src/index.js';
import { DailyLogFile } from '../../src/log/log-file.js';
import { waitUntil } from '@skitai/test-support';
import { request, startKernel, tempDir } from '../../test-support/http.js';

/** The file is written through the kernel's own stream: polled until `count` lines are in. */
function readLines(file: string, count: number): Promise<string[]> {
  return waitUntil(
    () => {
      const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
      return lines.length >= count && lines;
    },
    2000,
    `${count} lines in ${file}`,
    20,
  ) as Promise<string[]>;
}

test("a request log line has the 21 fields of Skitai's request log, in order", async () => {
  const logpath = tempDir('skitai-log-');
  const s = await startKernel(
    (k) =>
      k.mount('/', (req: any, res: any) => {
        req.user = 'alice';
        // Answers 30 ms later: the logged handling time is checked below.
        setTimeout(() => {
          res.setHeader('content-type', 'text/plain');
          res.end('0123456789');
        }, 30);
      }),
    { logpath },
  );
  try {
    await request(`${s.url}/page?x=1`, {
      method: 'POST',
      body: 'abc',
      headers: {
        'content-type': 'text/plain',
        referer: 'http://ref.example/a b',
        'user-agent': 'Tester/1.0 (say "hi")',
        'x-forwarded-for': '10.1.2.3',
        authorization: 'Bearer abcdefghijklmnopqrstuvwxyz',
        host: 'site.example',
        'x-gtxn-id': 'GTID-upstream-9',
        'x-ltxn-id': '2001',
      },
    });
    const [line] = await readLines(path.join(logpath, 'request.log'), 1);
    const fields = parseRequestLine(line!);
    assert.equal(fields.length, 21, line);
    assert.equal(REQUEST_LOG_FIELDS.length, 21);
    const f = Object.fromEntries(REQUEST_LOG_FIELDS.map((name, i) => [name, fields[i]]));
    assert.match(f.date!, /^\d{4}\.\d{2}\.\d{2}$/);
    assert.match(f.time!, /^\d{2}:\d{2}:\d{2}$/);
    assert.equal(f.clientIp, '127.0.0.1');
    assert.equal(f.host, 'site.example');
    assert.equal(f.method, 'POST');
    assert.equal(f.uri, '/page?x=1');
    assert.equal(f.version, 'HTTP/1.1');
    assert.equal(f.requestBytes, '3');
    assert.equal(f.status, '200');
    assert.equal(f.responseBytes, '10');
    assert.equal(f.gtxnId, 'GTID-upstream-9');
    assert.equal(f.ltxnId, '2001');
    assert.equal(f.user, 'alice');
    assert.equal(f.bearer, 'abcdef...');
    assert.equal(f.referer, 'http://ref.example/a b');
    assert.equal(f.userAgent, 'Tester/1.0 (say "hi")');
    assert.equal(f.forwardedFor, '10.1.2.3');
    assert.equal(f.workerId, 'M');
    assert.match(f.connections!, /^\d+$/);
    assert.ok(Number(f.connections) >= 1);
    assert.match(f.handlingMs!, /^\d+ms$/);
    assert.ok(parseInt(f.handlingMs!, 10) >= 25, `handling ${f.handlingMs}`);
    assert.match(f.sendingMs!, /^\d+ms$/);
  } finally {
    await s.stop();
  }
  // The server log went to its own file.
  assert.match(fs.readFileSync(path.join(logpath, 'server.log'), 'utf8'), /listening on http:\/\/127\.0\.0\.1:\d+/);
});

test('transaction ids: new ones when none came, and forged ones are replaced; a line cannot be split', async () => {
  const logpath = tempDir('skitai-log-');
  const s = await startKernel((k) => k.mount('/', (_req: any, res: any) => res.end('ok')), { logpath });
  try {
    await request(`${s.url}/a`);
    await request(`${s.url}/b`, { headers: { 'x-gtxn-id': 'bad id with spaces', 'user-agent': 'x\tinjected' } });
    const lines = await readLines(path.join(logpath, 'request.log'), 2);
    const a = parseRequestLine(lines[0]!);
    const b = parseRequestLine(lines[1]!);
    assert.match(a[10]!, /^[0-9a-f]{32}$/);
    assert.equal(a[11], '1000');
    assert.notEqual(a[10], b[10]);
    assert.match(b[10]!, /^[0-9a-f]{32}$/);
    assert.equal(b.length, 21);
  } finally {
    await s.stop();
  }
});

test('logOff: prefixes and *.suffix patterns are not logged', async () => {
  const logpath = tempDir('skitai-log-');
  const s = await startKernel(
    (k) => {
      k.logOff('/static/', '*.css');
      k.mount('/', (_req: any, res: any) => res.end('ok'));
    },
    { logpath },
  );
  try {
    // The last request's line comes after any line the others could have written.
    for (const p of ['/static/a.js', '/site.css?v=1', '/logged', '/x.css.map', '/last']) await request(`${s.url}${p}`);
    const logged = () =>
      fs
        .readFileSync(path.join(logpath, 'request.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => parseRequestLine(l)[5]);
    const uris = await waitUntil(() => logged().includes('/last') && logged(), 2000, 'the line of /last', 20);
    assert.deepEqual(uris, ['/logged', '/x.css.map', '/last']);
  } finally {
    await s.stop();
  }
});

test('without logpath and -v there is no request log (the -v console log is tested through run())', async () => {
  const quiet = await startKernel((k) => k.mount('/', (_req: any, res: any) => res.end('ok')));
  assert.equal(quiet.kernel.logs.request, undefined);
  assert.equal((await request(`${quiet.url}/`)).status, 200);
  await quiet.stop();
});

test('log files rotate daily: the first write after midnight starts a new file', async () => {
  const dir = tempDir('skitai-rotate-');
  const file = path.join(dir, 'request.log');
  const day1 = new Date(2026, 10, 26, 23, 59, 0).getTime();
  const log = new DailyLogFile(file, day1);
  log.write('first day\n', day1);
  log.write('second day\n', day1 + 2 * 60 * 1000);
  await log.close();
  assert.equal(fs.readFileSync(path.join(dir, 'request.log.20261126'), 'utf8'), 'first day\n');
  assert.equal(fs.readFileSync(file, 'utf8'), 'second day\n');
});

test('with logpath and no -v, the console still says where the server listens and where the logs go', async () => {
  const { Kernel } = await import('../../src/index.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-logpath-'));
  const said: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    said.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  const kernel = new Kernel();
  kernel.mount('/', (_req, res) => {
    res.end('ok');
  });
  let port: number;
  try {
    ({ port } = await kernel.start({ address: '127.0.0.1', port: 0, logpath: dir }));
  } finally {
    process.stderr.write = write;
  }
  await kernel.stop();
  assert.deepEqual(said, [`skitai ${kernel.version}: listening on http://127.0.0.1:${port}; logs in ${dir}\n`]);
  fs.rmSync(dir, { recursive: true, force: true });
});
