// Makes plugins/status/status-page.png: the status page of a two-worker server with every
// plugin in use, after some traffic, a WebSocket client, a queued mail and a killed worker,
// in Debian's chromium at 1280 px. Run: node plugins/status/dist/test-support/screenshot.js
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { launchBrowser } from '@skitai/test-support/browser';
import { request } from './helpers.js';
import { startWorkersServer } from './workers.js';

const out = fileURLToPath(new URL('../../status-page.png', import.meta.url));
const server = await startWorkersServer();
const sockets: WebSocket[] = [];
try {
  const { port } = server;
  for (let i = 0; i < 200; i++) await request(port, i % 10 === 0 ? '/call' : i % 17 === 0 ? '/missing' : '/');
  await request(port, '/mail');
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    sockets.push(ws);
  }
  const before = await server.status();
  const w1 = before.processes.find((p) => p.id === 'W1')!;
  process.kill(w1.pid, 'SIGKILL');
  await server.serverLog(/\(W1\) listening on/, 2);
  for (;;) {
    const w = (await server.status()).processes.find((p) => p.id === 'W1');
    if (w && w.pid !== w1.pid && w.error === undefined) break;
  }
  for (let i = 0; i < 60; i++) await request(port, i % 3 === 0 ? '/call' : '/');
  await request(port, '/status/');
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/status/`);
  // (evaluated in the page: written as a string, the DOM types are not in this project)
  const widths = await page.evaluate<number[]>(
    '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
  );
  await page.screenshot({ path: out, fullPage: true });
  await browser.close();
  process.stdout.write(
    `${path.relative(process.cwd(), out)}: page ${widths[0]} px wide in a ${widths[1]} px viewport\n`,
  );
} finally {
  for (const ws of sockets) ws.terminate();
  await server.stop();
}
