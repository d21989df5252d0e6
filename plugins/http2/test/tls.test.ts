// TLS on the kernel's port: ALPN h2 and http/1.1 on one port, passphrase-protected keys,
// clear errors for a wrong passphrase, and clients that do not speak TLS at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { Kernel } from '@skitai/kernel';
import { http2 } from '../src/index.js';
import { connect, h2request, RawClient, run, serve, testCerts } from '../test-support/helpers.js';

const hello = (req: any, res: any) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end(`hello ${req.httpVersion} ${req.url} ${req.socket.encrypted === true}`);
};

test('one TLS port: h2 by ALPN for node:http2 and curl, HTTP/1.1 for clients that ask for it', async (t) => {
  const c = testCerts();
  const s = await serve({ cert: c.cert, key: c.encryptedKey, passphrase: 'test-secret' }, [['/', hello]]);
  t.after(() => s.close());
  assert.equal(s.scheme, 'https', 'start() says the port serves TLS');

  const session = await connect(s.origin);
  assert.equal(session.alpnProtocol, 'h2');
  const a = await h2request(session, { ':path': '/x' });
  assert.equal(a.status, 200);
  assert.equal(a.body.toString(), 'hello 2.0 /x true');
  assert.match(String(a.headers.server), /^Skitai\//);
  session.close();

  const curl2 = await run('curl', ['-sk', '--http2', '-w', ' %{http_version}', `${s.origin}/c`]);
  assert.equal(curl2.stdout, 'hello 2.0 /c true 2');
  const curl1 = await run('curl', ['-sk', '--http1.1', '-w', ' %{http_version}', `${s.origin}/d`]);
  assert.equal(curl1.stdout, 'hello 1.1 /d true 1.1');

  // node:https offers no ALPN at all: HTTP/1.1 as well.
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(`${s.origin}/e`, { rejectUnauthorized: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(`${res.headers['keep-alive'] ? 'keep-alive ' : ''}${b}`));
      })
      .on('error', reject);
  });
  assert.equal(body, 'keep-alive hello 1.1 /e true');
});

test('a wrong or missing passphrase stops the start with a clear error; an unreadable file too', async () => {
  const c = testCerts();
  for (const [options, pattern] of [
    [
      { cert: c.cert, key: c.encryptedKey, passphrase: 'wrong' },
      /cannot use the TLS certificate and key: the passphrase is wrong/,
    ],
    [{ cert: c.cert, key: c.encryptedKey }, /the key is encrypted and no passphrase was given/],
    [{ cert: c.cert, key: `${c.dir}/missing.pem` }, /cannot use the TLS key: cannot read .*missing\.pem: ENOENT/],
  ] as const) {
    const kernel = new Kernel();
    kernel.use(http2(options));
    kernel.mount('/', hello);
    await assert.rejects(kernel.start({ address: '127.0.0.1', port: 0 }), (err: any) => {
      assert.equal(err.code, 'SKT_HTTP2_TLS');
      assert.match(err.message, pattern);
      return true;
    });
  }
  assert.throws(() => http2({ cert: c.cert }), { code: 'SKT_HTTP2_OPTION', message: /key/ });
  assert.throws(() => http2({ forward: 80 }), { code: 'SKT_HTTP2_OPTION', message: /forward/ });
  assert.throws(() => http2({ maxConcurrentStreams: 0 }), { code: 'SKT_HTTP2_OPTION' });
  assert.throws(() => http2({ certs: 'x' } as any), {
    code: 'SKT_INVALID_OPTION',
    message: /@skitai\/http2 option certs: "x" .*did you mean cert\?/,
  });
});

test('plain HTTP, garbage and a dropped handshake on the TLS port end only that socket', async (t) => {
  const c = testCerts();
  const s = await serve({ cert: c.cert, key: c.key }, [['/', hello]]);
  t.after(() => s.close());
  const plain = await RawClient.connect(s.port);
  plain.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await plain.closed;
  const garbage = await RawClient.connect(s.port);
  garbage.socket.write(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8]));
  await garbage.closed;
  const half = await RawClient.connect(s.port);
  half.socket.end(Buffer.from([0x16, 0x03, 0x01]));
  await half.closed;
  // A TLS client that goes away right after the handshake.
  await new Promise<void>((resolve) => {
    const sock = tls.connect(
      { port: s.port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['h2'] },
      () => {
        sock.destroy();
        resolve();
      },
    );
  });
  const session = await connect(s.origin);
  const a = await h2request(session, { ':path': '/still' });
  assert.equal(a.body.toString(), 'hello 2.0 /still true');
  session.close();
});
