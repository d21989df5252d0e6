// HTTP/2 over TLS under the process model: two workers share the TLS port (node:cluster hands
// each connection to one of them); h2 by ALPN, HTTP/1.1 beside it, from curl and node's client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, h2request, run, testCerts } from '../test-support/helpers.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test-support/workers-server.js');

interface Id {
  id: string;
  pid: number;
  version: string;
}

test(
  'TLS with 2 workers: h2 from node:http2 and curl --http2, and HTTP/1.1, land on both workers; the HTTPS redirect port works',
  { timeout: 60_000 },
  async (t) => {
    const certs = testCerts();
    const child = spawn(process.execPath, [SCRIPT], {
      env: { ...process.env, H2_CERT: certs.cert, H2_KEY: certs.key },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /2 workers listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (m) resolve(Number(m[1]));
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', () => reject(new Error(`the server exited before it listened:\n${output}`)));
    });
    const origin = `https://127.0.0.1:${port}`;

    // node:http2: a connection each, two streams on each (both on the worker that took it).
    const fromNode: Id[] = [];
    for (let i = 0; i < 6; i++) {
      const session = await connect(origin);
      const [a, b] = await Promise.all([
        h2request(session, { ':path': '/id' }),
        h2request(session, { ':path': '/id' }),
      ]);
      session.close();
      const [ja, jb] = [JSON.parse(a.body.toString()) as Id, JSON.parse(b.body.toString()) as Id];
      assert.equal(ja.version, '2.0');
      assert.equal(ja.pid, jb.pid, 'the streams of one connection are served by one worker');
      fromNode.push(ja);
    }
    assert.deepEqual(
      [...new Set(fromNode.map((r) => r.id))].sort(),
      ['W0', 'W1'],
      'node:http2 connections reached both workers',
    );

    // curl, a process (and a connection) a request: h2 by ALPN, then HTTP/1.1 by ALPN.
    const fromCurl: Id[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await run('curl', ['-sk', '--http2', '-w', '\n%{http_version}', `${origin}/id`]);
      const [body, version] = r.stdout.split('\n');
      assert.equal(version, '2', `curl --http2 spoke HTTP/2: ${r.stdout} ${r.stderr}`);
      fromCurl.push(JSON.parse(body!) as Id);
    }
    assert.deepEqual(
      [...new Set(fromCurl.map((r) => r.id))].sort(),
      ['W0', 'W1'],
      'curl --http2 connections reached both workers',
    );
    const h1: Id[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await run('curl', ['-sk', '--http1.1', `${origin}/id`]);
      h1.push(JSON.parse(r.stdout) as Id);
    }
    assert.ok(h1.every((r) => r.version === '1.1'));
    assert.deepEqual([...new Set(h1.map((r) => r.id))].sort(), ['W0', 'W1'], 'HTTP/1.1 over TLS reached both workers');

    // The HTTPS redirect port, bound by each worker on the one port the master shares.
    const forward = Number(/port (\d+) redirects to https on port/.exec(output)![1]);
    for (let i = 0; i < 2; i++) {
      const r = await run('curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{redirect_url}',
        `http://127.0.0.1:${forward}/a?b=${i}`,
      ]);
      assert.equal(r.stdout, `301 https://127.0.0.1:${port}/a?b=${i}`);
    }
    assert.equal(output.match(/redirects to https on port/g)?.length, 2, 'each worker bound the redirect port');

    // A graceful stop: SIGTERM to the master ends the workers and the master with 0.
    process.kill(child.pid!, 'SIGTERM');
    assert.equal(await exited, 0, output);
  },
);
