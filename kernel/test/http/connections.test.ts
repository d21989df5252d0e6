import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForLine } from '@skitai/test-support';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.resolve(here, '../../../test-support/fixtures/idle-server.mjs');
const COUNT = 10_000;

function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Opens a keep-alive connection, makes one request, and leaves it open and idle. */
function openIdle(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('data', (d) => {
      if (!d.toString().startsWith('HTTP/1.1 200')) reject(new Error(d.toString()));
      else resolve(socket);
    });
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

test(`one process holds ${COUNT} idle keep-alive connections`, { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sockets: net.Socket[] = [];
  try {
    const port = Number((await waitForLine(child.stdout!, /port (\d+)/))[1]);
    const before = rssOf(child.pid!);
    for (let i = 0; i < COUNT; i += 250) {
      const batch = await Promise.all(Array.from({ length: Math.min(250, COUNT - i) }, () => openIdle(port)));
      sockets.push(...batch);
    }
    // Every connection had its answer, so the server holds them all by now.
    const counted = await new Promise<{ connections: number }>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      let text = '';
      s.on('data', (d) => {
        text += String(d);
        if (text.includes('}')) {
          s.destroy();
          resolve(JSON.parse(text.slice(text.indexOf('{'))));
        }
      });
      s.on('error', reject);
      s.write('GET /count HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    const rss = rssOf(child.pid!);
    const alive = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    console.log(
      `idle keep-alive connections: ${alive} held; server counts ${counted.connections}; ` +
        `server RSS ${(before / 1048576).toFixed(1)} MiB before, ${(rss / 1048576).toFixed(1)} MiB with them ` +
        `(${((rss - before) / COUNT / 1024).toFixed(2)} KiB each)`,
    );
    assert.equal(alive, COUNT);
    assert.ok(counted.connections >= COUNT, `server holds ${counted.connections}`);
    assert.ok(rss < 400 * 1048576, `RSS ${rss} bytes`);
  } finally {
    for (const s of sockets) s.destroy();
    child.kill('SIGKILL');
  }
});
