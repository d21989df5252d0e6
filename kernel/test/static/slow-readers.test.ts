// Slow readers (slowhttptest -X): 300 connections that ask for a 1 MiB file, 8 times over one
// connection, and stop reading. The server holds no copy per reader (its RSS grows by less
// than 100 MB) and the send timeout closes every connection once no byte went out for that
// long, releasing what the kernel held for it (a reset, not a close with bytes queued).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../test-support/fixtures/slow-read-server.mjs',
);
const READERS = 300;
const SEND_TIMEOUT = 2;

type Msg = { t: string; [k: string]: any };

function next(child: ChildProcess, type: string): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Msg) => {
      if (m.t !== type) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
}

// Whatever happens (a timeout included), no child or socket outlives the test file.
let child: ChildProcess | undefined;
const sockets: net.Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  if (child?.exitCode === null) child.kill('SIGKILL');
});

test(
  `${READERS} slow readers of a 1 MiB file: RSS grows < 100 MB; each is closed after the send timeout`,
  { timeout: 60_000 },
  async () => {
    child = fork(FIXTURE, [], {
      env: { ...process.env, SEND_TIMEOUT: String(SEND_TIMEOUT), READERS: String(READERS) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    try {
      const server = child;
      const { port, rss: atRest } = await next(server, 'listening');
      const closed = next(server, 'all-closed');
      let started = 0;
      const allStarted = new Promise<void>((resolve) => {
        for (let i = 0; i < READERS; i++) {
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.write('GET /one-mib.bin HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(8));
          });
          socket.on('error', () => undefined);
          // One read, then no more: the slow reader. (On a loaded machine the send timeout may
          // cut an early reader before the last one connected: that one counts as started too.)
          let counted = false;
          const count = () => {
            if (counted) return;
            counted = true;
            if (++started === READERS) resolve();
          };
          socket.once('data', () => {
            socket.pause();
            count();
          });
          socket.once('close', count);
          sockets.push(socket);
        }
      });
      await allStarted;
      const stalledAt = Date.now();
      const done = await closed;
      assert.equal(done.total, READERS);
      const growth = (done.maxRss - atRest) / 1e6;
      assert.ok(growth < 100, `RSS grew by ${growth.toFixed(1)} MB`);
      // Closed by the send timeout: node cuts a send that made no progress over a whole timeout,
      // so between one and two timeouts after the last byte went out.
      const after = (done.at - stalledAt) / 1000;
      assert.ok(
        after >= SEND_TIMEOUT * 0.9 && after < SEND_TIMEOUT * 2 + 1.5,
        `all closed ${after.toFixed(2)} s after the readers stalled`,
      );
      const left = (done.rss - atRest) / 1e6;
      console.log(
        `# ${READERS} slow readers: RSS +${growth.toFixed(1)} MB (peak), ${done.peak} open at once, all closed ${after.toFixed(2)} s after they stalled, RSS +${left.toFixed(1)} MB once closed`,
      );
    } finally {
      const server = child;
      if (server.exitCode === null) {
        server.send('stop');
        await new Promise((resolve) => server.once('exit', resolve));
      }
    }
  },
);
