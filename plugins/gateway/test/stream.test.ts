import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { fork } from 'node:child_process';
import { Readable } from 'node:stream';
import { RELAY_EXEC_ARGV } from '@skitai/kernel';
import { startBackend } from '../test-support/helpers.js';

const SIZE = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** SIZE bytes, produced as they are read (never held whole). */
function source(): Readable {
  let left = SIZE;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, CHUNK.length);
      left -= n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

// The proxy runs in its own process, started as the kernel's process model starts a worker
// (its RELAY_EXEC_ARGV), so that its RSS is its own (the client and the member are here) and
// the bound is absolute: the process's peak RSS (getrusage's maxrss, start-up included).
// It holds at most a few 64 KiB chunks per direction (back-pressure both ways); what shows on
// top of idle is the Buffers node gives each socket read, collected every few MiB relayed
// (the gateway's young-gc.ts). Idle is about 62 MiB; measured peaks (2026-11-30, a loaded
// machine): up 73-76 MiB, down 74-76 MiB. Without the workers' flags: up 97-107, down 106-129
// (32 MiB of dead Buffers before V8 collects them, and a 30 MiB compile of undici's parser).
// A leak, or a body held whole, grows with the size of the transfer: 256 MiB each way puts
// any such growth far above the bound.
const BOUND = 100 * 1024 * 1024;

test(
  '256 MiB up and 256 MiB down through the proxy: its peak RSS stays under 100 MiB in each direction (nothing held whole)',
  { timeout: 180_000 },
  async () => {
    // The member counts what it receives on /up and produces SIZE bytes on /down.
    const b = await startBackend(
      (req, res) => {
        if (req.url === '/down') {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE });
          source().pipe(res);
          return;
        }
        let n = 0;
        req.on('data', (c: Buffer) => {
          n += c.length;
        });
        req.on('end', () => res.end(JSON.stringify({ received: n })));
      },
      { collect: false },
    );
    const mib = (n: number) => (n / 1048576).toFixed(1);
    const run = async (direction: 'up' | 'down') => {
      const child = fork(
        new URL('../test-support/gateway-process.js', import.meta.url),
        [JSON.stringify({ members: [b.member] })],
        { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: [...RELAY_EXEC_ARGV] },
      );
      const ask = <T>(what: string) =>
        new Promise<T>((resolve) => {
          child.once('message', (m) => resolve(m as T));
          child.send(what);
        });
      try {
        const { port } = await new Promise<{ port: number }>((resolve) =>
          child.once('message', (m) => resolve(m as { port: number })),
        );
        const idle = (await ask<{ maxRss: number }>('rss')).maxRss;
        if (direction === 'up') {
          const up = await new Promise<{ received: number }>((resolve, reject) => {
            const req = http.request(
              {
                host: '127.0.0.1',
                port,
                method: 'POST',
                path: '/members/up',
                agent: false,
                headers: { 'content-length': SIZE },
              },
              (res) => {
                let t = '';
                res.on('data', (d) => {
                  t += d;
                });
                res.on('end', () => resolve(JSON.parse(t)));
              },
            );
            req.on('error', reject);
            source().pipe(req);
          });
          assert.equal(up.received, SIZE);
        } else {
          const down = await new Promise<number>((resolve, reject) => {
            http
              .get({ host: '127.0.0.1', port, path: '/members/down', agent: false }, (res) => {
                let n = 0;
                res.on('data', (c: Buffer) => {
                  n += c.length;
                });
                res.on('end', () => resolve(n));
                res.on('error', reject);
              })
              .on('error', reject);
          });
          assert.equal(down, SIZE);
        }
        const { maxRss } = await ask<{ maxRss: number }>('rss');
        process.stderr.write(
          `proxy RSS ${direction}: idle ${mib(idle)} MiB, peak with 256 MiB ${mib(maxRss)} MiB (+${mib(maxRss - idle)}, bound ${mib(BOUND)})\n`,
        );
        assert.ok(maxRss < BOUND, `proxy peak RSS ${mib(maxRss)} MiB ${direction}, idle ${mib(idle)} MiB`);
      } finally {
        child.send('stop');
        await new Promise((r) => child.once('exit', r));
      }
    };
    try {
      await run('up');
      await run('down');
    } finally {
      await b.close();
    }
  },
);
