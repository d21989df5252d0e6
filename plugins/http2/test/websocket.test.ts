// The TLS port serves HTTP/1.1 upgrades as the plain port does: WebSocket (wss) beside h2.
// The h2c plain port leaves WebSocket upgrades to the WebSocket plugin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { App } from '@skitai/app';
import { websocket, wsRoute } from '@skitai/websocket';
import { connect, h2request, serve, testCerts } from '../test-support/helpers.js';

function echo(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { rejectUnauthorized: false });
    ws.on('open', () => ws.send('ping'));
    ws.on('message', (m) => {
      resolve(m.toString());
      ws.close();
    });
    ws.on('error', reject);
  });
}

for (const mode of ['TLS', 'h2c'] as const) {
  test(`${mode}: a WebSocket route and HTTP/2 on one port`, async (t) => {
    const app = new App();
    app.route(
      '/echo',
      wsRoute({ mode: 'simple' }, (_was: any, m: string) => `echo:${m}`),
    );
    app.route('/', async () => 'page');
    const c = testCerts();
    const s = await serve(mode === 'TLS' ? { cert: c.cert, key: c.key } : {}, [['/', app]], (k) => k.use(websocket()));
    t.after(() => s.close());
    assert.equal(await echo(`${mode === 'TLS' ? 'wss' : 'ws'}://127.0.0.1:${s.port}/echo`), 'echo:ping');
    const session = await connect(s.origin);
    assert.equal((await h2request(session, { ':path': '/' })).body.toString(), 'page');
    session.close();
  });
}
