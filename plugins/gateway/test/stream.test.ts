import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { fork } from 'node:child_process';
import { Readable } from 'node:stream';
import { startBackend } from '../test-support/helpers.js';

const SIZE = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** SIZE bytes, produced as they are read (never held whole). */
function source(): Readable {
  let left = SIZE;
  return new Readable({
    read() {
      if (left <= 0) { this.push(null); return; }
      const n = Math.min(left, CHUNK.length);
      left -= n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

// The proxy runs in its own process so that its RSS is its own. What it holds is bounded by
// the stream buffers; what RSS shows on top is socket read buffers already written on and not
// yet collected: V8 collects those external buffers after up to 64 MiB of them have piled up,
// whatever the size of the transfer.
test('256 MiB up and 256 MiB down through the proxy: its RSS grows by less than 80 MiB over idle', { timeout: 120_000 }, async () => {
  // The member counts what it receives on /up and produces SIZE bytes on /down.
  const b = await startBackend((req, res) => {
    if (req.url === '/down') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE });
      source().pipe(res);
      return;
    }
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => res.end(JSON.stringify({ received: n })));
  }, { collect: false });
  const child = fork(new URL('../test-support/gateway-process.js', import.meta.url), [JSON.stringify({ members: [b.member] })], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const ask = <T>(what: string) => new Promise<T>((resolve) => { child.once('message', (m) => resolve(m as T)); child.send(what); });
  try {
    const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', (m) => resolve(m as { port: number })));
    const idle = (await ask<{ maxRss: number }>('rss')).maxRss;
    const up = await new Promise<{ received: number }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/members/up', agent: false, headers: { 'content-length': SIZE } }, (res) => {
        let t = '';
        res.on('data', (d) => { t += d; });
        res.on('end', () => resolve(JSON.parse(t)));
      });
      req.on('error', reject);
      source().pipe(req);
    });
    assert.equal(up.received, SIZE);
    const down = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/members/down', agent: false }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => { n += c.length; });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      }).on('error', reject);
    });
    assert.equal(down, SIZE);
    const { maxRss } = await ask<{ maxRss: number }>('rss');
    const mib = (n: number) => (n / 1048576).toFixed(1);
    process.stderr.write(`proxy RSS: idle ${mib(idle)} MiB, peak after 2 x 256 MiB ${mib(maxRss)} MiB\n`);
    assert.ok(maxRss - idle < 80 * 1024 * 1024, `proxy peak RSS ${mib(maxRss)} MiB, idle ${mib(idle)} MiB`);
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
    await b.close();
  }
});
