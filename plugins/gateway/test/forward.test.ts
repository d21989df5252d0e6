import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import https from 'node:https';
import net from 'node:net';
import { parseRequestLine, type LogRecord } from '@skitai/kernel';
import { request, selfSignedCert, tempDir } from '@skitai/test-support';
import { raw, responses, startBackend, startGateway } from '../test-support/helpers.js';

/** A TLS server with a self-signed certificate made for this test. */
async function tlsServer() {
  const dir = tempDir('gw-tls-');
  const { cert, key } = selfSignedCert(dir);
  const server = https.createServer({ key, cert }, (req, res) => {
    res.end(`secret page via ${req.headers.host}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '-S', '--max-time', '20', ...args], (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('CONNECT through the forward proxy to a local TLS server (curl -x), allowed by host:port; other ports and hosts refused with 403 and logged', async () => {
  const tls = await tlsServer();
  const logs: string[] = [];
  const g = await startGateway({
    members: ['127.0.0.1:1'],
    options: { forwardProxy: { hosts: [`127.0.0.1:${tls.port}`] } },
    setup: (k) =>
      k.hooks.listening.tap('capture', () => {
        const log = k.logs.log.bind(k.logs);
        k.logs.log = (kind, level, text) => {
          logs.push(text);
          return log(kind, level, text);
        };
      }),
  });
  try {
    const ok = await curl(['-k', '-x', `http://127.0.0.1:${g.port}`, `https://127.0.0.1:${tls.port}/`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `secret page via 127.0.0.1:${tls.port}`);

    // Not on the list: another port of the same host, the gateway's own port, a name.
    for (const target of ['127.0.0.1:22', `127.0.0.1:${g.port}`, 'example.com:443']) {
      const r = await raw(g.port, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      assert.deepEqual(responses(r.text), [403], target);
      assert.equal(r.closed, true);
    }
    const bad = await raw(g.port, 'CONNECT nonsense HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(bad.text, /^HTTP\/1\.1 400/);
    assert.ok(
      logs.some((l) =>
        /forward proxy refused CONNECT 127\.0\.0\.1:22 from 127\.0\.0\.1: CONNECT to 127\.0\.0\.1:22 is not allowed/.test(
          l,
        ),
      ),
      logs.join('\n'),
    );
    // A tunnel stays up across requests: curl reuses it for two URLs.
    const twice = await curl([
      '-k',
      '-x',
      `http://127.0.0.1:${g.port}`,
      `https://127.0.0.1:${tls.port}/a`,
      `https://127.0.0.1:${tls.port}/b`,
    ]);
    assert.equal(twice.stdout, `secret page via 127.0.0.1:${tls.port}`.repeat(2));
  } finally {
    await g.stop();
    await tls.close();
  }
});

test('CONNECT goes to port 443 only unless configured; a host rule without a port follows connectPorts', async () => {
  const tls = await tlsServer();
  const defaults = await startGateway({
    members: ['127.0.0.1:1'],
    options: { forwardProxy: { hosts: ['127.0.0.1'] } },
  });
  const widened = await startGateway({
    members: ['127.0.0.1:1'],
    options: { forwardProxy: { hosts: ['127.0.0.1'], connectPorts: [tls.port] } },
  });
  try {
    const refused = await curl(['-k', '-x', `http://127.0.0.1:${defaults.port}`, `https://127.0.0.1:${tls.port}/`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /403/);
    const ok = await curl(['-k', '-x', `http://127.0.0.1:${widened.port}`, `https://127.0.0.1:${tls.port}/`]);
    assert.equal(ok.stdout, `secret page via 127.0.0.1:${tls.port}`);
  } finally {
    await defaults.stop();
    await widened.stop();
    await tls.close();
  }
});

test('absolute-form requests: proxied to an allowed host with forwarding headers; an open-proxy attempt gets 403 and nothing is fetched', async () => {
  const b = await startBackend();
  const other = await startBackend();
  const g = await startGateway({ members: ['127.0.0.1:1'], options: { forwardProxy: { hosts: [b.member] } } });
  try {
    const viaCurl = await curl(['-x', `http://127.0.0.1:${g.port}`, `http://${b.member}/page?q=1`]);
    assert.equal(viaCurl.code, 0, viaCurl.stderr);
    const seen = JSON.parse(viaCurl.stdout);
    assert.equal(seen.url, '/page?q=1');
    assert.equal(seen.headers.host, b.member);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['proxy-connection'], undefined);

    const open = await raw(
      g.port,
      `GET http://${other.member}/steal HTTP/1.1\r\nHost: ${other.member}\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual(responses(open.text), [403]);
    const httpsUrl = await raw(
      g.port,
      `GET https://${b.member}/ HTTP/1.1\r\nHost: ${b.member}\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual(responses(httpsUrl.text), [403]);
    assert.equal(other.seen.length, 0);
    // Origin-form requests still reach the mounts.
    assert.equal((await request(`${g.url}/members/x`)).status, 502);
  } finally {
    await g.stop();
    await b.close();
    await other.close();
  }
});

test('without forwardProxy, CONNECT is refused by the kernel (405) and the gateway is no proxy at all', async () => {
  const g = await startGateway({ members: ['127.0.0.1:1'] });
  try {
    const r = await raw(g.port, 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 405/);
  } finally {
    await g.stop();
  }
});

test('the forward proxy serves only its sources (loopback by default)', async () => {
  const b = await startBackend();
  const g = await startGateway({
    members: ['127.0.0.1:1'],
    options: { forwardProxy: { hosts: ['*'], sources: ['10.0.0.0/8'], connectPorts: [b.port] } },
  });
  try {
    const r = await raw(g.port, `GET http://${b.member}/ HTTP/1.1\r\nHost: ${b.member}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(responses(r.text), [403]);
    const c = await raw(g.port, `CONNECT ${b.member} HTTP/1.1\r\nHost: ${b.member}\r\n\r\n`);
    assert.deepEqual(responses(c.text), [403]);
    assert.equal(b.seen.length, 0);
  } finally {
    await g.stop();
    await b.close();
  }
});

test('CONNECT has request-log lines as any request: a refusal when refused, a tunnel when it closes (200 and the bytes the client got)', async () => {
  const b = await startBackend();
  const lines: string[][] = [];
  let tunnelLogged: (fields: string[]) => void = () => {};
  const g = await startGateway({
    members: ['127.0.0.1:1'],
    logpath: tempDir('gw-connect-log-'),
    options: { forwardProxy: { hosts: ['127.0.0.1'], connectPorts: [b.port] } },
    setup: (k) =>
      k.hooks.responseLogged.tap('test', (record: LogRecord) => {
        const fields = parseRequestLine(record.line);
        lines.push(fields);
        if (fields[8] === '200') tunnelLogged(fields);
      }),
  });
  try {
    const refused = await raw(g.port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    assert.deepEqual(responses(refused.text), [403]);
    const bad = await raw(g.port, 'CONNECT nonsense HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(bad.text, /^HTTP\/1\.1 400/);
    const byStatus = (status: string) => lines.find((f) => f[8] === status);
    assert.deepEqual(byStatus('403')?.slice(4, 6), ['CONNECT', '127.0.0.1:22']);
    assert.deepEqual(byStatus('400')?.slice(4, 6), ['CONNECT', 'nonsense']);

    const logged = new Promise<string[]>((r) => {
      tunnelLogged = r;
    });
    const head = 'HTTP/1.1 200 Connection Established\r\n\r\n';
    const through = await raw(
      g.port,
      `CONNECT ${b.member} HTTP/1.1\r\nHost: ${b.member}\r\n\r\nGET /via-tunnel HTTP/1.1\r\nHost: ${b.member}\r\nConnection: close\r\n\r\n`,
    );
    assert.ok(through.text.startsWith(head), through.text);
    const fields = await logged;
    assert.deepEqual(fields.slice(4, 6), ['CONNECT', b.member]);
    assert.equal(Number(fields[9]), Buffer.byteLength(through.text, 'latin1') - head.length);
  } finally {
    await g.stop();
    await b.close();
  }
});
