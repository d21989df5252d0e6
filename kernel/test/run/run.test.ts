import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kernel, parseCommandLine, parseRequestLine } from '../../src/index.js';
import { waitUntil } from '@skitai/test-support';
import { request, tempDir } from '../../test-support/http.js';

// The fixture lives in the source tree (test-support/fixtures), next to its files/ folder.
const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureDir = path.resolve(here, '../../../test-support/fixtures');
const script = path.join(fixtureDir, 'run-app.mjs');

interface Run {
  child: ChildProcess;
  port: number;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

const LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

/**
 * Starts the fixture (on port 0: the port it got is read from its listening line) and waits
 * for that line: on its output, or with `ready`, in a file another process writes (polled).
 */
async function runScript(args: string[], env: Record<string, string> = {}, ready?: () => string): Promise<Run> {
  const cwd = tempDir();
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onOutput = () => {};
  child.stdout!.on('data', (d) => {
    out += d;
    onOutput();
  });
  child.stderr!.on('data', (d) => {
    err += d;
    onOutput();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = ready
    ? waitUntil(() => ready().match(LISTENING), 10_000, 'the listening line', 20)
    : new Promise<RegExpMatchArray>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no listening line within 10000 ms')), 10_000);
        onOutput = () => {
          const m = (out + err).match(LISTENING);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          }
        };
      });
  const ended = exit.then((code) => {
    throw new Error(`exited (${code}) before it listened`);
  });
  try {
    const m = await Promise.race([listening, ended]);
    return { child, port: Number(m![1]), out: () => out, err: () => err, exit };
  } catch (e) {
    child.kill('SIGKILL');
    return assert.fail(`did not start (${(e as Error).message}): ${out}${err}`);
  }
}

test('the command line: -v, --port N, --port=N, --workers, verbs; bad numbers are refused', () => {
  assert.deepEqual(parseCommandLine(['-v', '--port', '8080']), {
    verbose: true,
    port: 8080,
    workers: undefined,
    verb: undefined,
    rest: [],
  });
  assert.equal(parseCommandLine(['--port=81']).port, 81);
  assert.equal(parseCommandLine(['--workers', '2']).workers, 2);
  assert.equal(parseCommandLine(['-d']).verb, 'start');
  assert.equal(parseCommandLine(['status']).verb, 'status');
  assert.throws(() => parseCommandLine(['--port', 'abc']), /--port needs a whole number/);
});

test('run(): --port from the command line, the script folder as working directory, -v logs requests to the console, SIGTERM stops gracefully', async () => {
  const run = await runScript(['-v', '--port', '0'], { RUN_APP_PORT: '1' });
  const { port } = run;
  try {
    const where = JSON.parse((await request(`http://127.0.0.1:${port}/where`)).body.toString());
    assert.equal(where.cwd, fs.realpathSync(fixtureDir));
    assert.equal(where.swd, fs.realpathSync(fixtureDir));
    assert.equal(where.abs, path.join(fs.realpathSync(fixtureDir), 'x', 'y'));
    assert.equal((await request(`http://127.0.0.1:${port}/files/a.txt`)).body.toString(), 'a static file\n');
    await waitUntil(() => run.out().includes('/files/a.txt'), 2000, 'the request line on the console', 10);
    const line = run
      .out()
      .split('\n')
      .find((l) => l.includes('/files/a.txt'));
    assert.ok(line, `request logged to the console:\n${run.out()}`);
    assert.equal(parseRequestLine(line!).length, 21);
    // An in-flight request finishes across SIGTERM.
    const slow = request(`http://127.0.0.1:${port}/slow`);
    await waitUntil(() => run.out().includes('fixture: /slow'), 2000, 'the slow request in flight', 10);
    run.child.kill('SIGTERM');
    assert.equal((await slow).body.toString(), 'slow done');
    assert.equal(await run.exit, 0);
    assert.match(run.out(), /SIGTERM: stopping gracefully[\s\S]*stopped/);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('run(): with logpath the logs go to files; SIGINT stops too', async () => {
  const logpath = tempDir('skitai-runlog-');
  // Without -v the server log is in its file, not on the console: wait on the file.
  const serverLog = path.join(logpath, 'server.log');
  const run = await runScript([], { RUN_APP_PORT: '0', RUN_APP_LOGPATH: logpath }, () =>
    fs.existsSync(serverLog) ? fs.readFileSync(serverLog, 'utf8') : '',
  );
  const { port } = run;
  try {
    await request(`http://127.0.0.1:${port}/`);
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0);
    const lines = fs.readFileSync(path.join(logpath, 'request.log'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal(parseRequestLine(lines[0]!)[5], '/');
    assert.match(fs.readFileSync(path.join(logpath, 'server.log'), 'utf8'), /SIGINT: stopping gracefully/);
    assert.equal(run.out(), '');
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('run(): a port in use ends the process with a clear message and a non-zero exit', async () => {
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const child = spawn(process.execPath, [script, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(
      err,
      new RegExp(`cannot start: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`),
    );
  } finally {
    blocker.close();
  }
});

// The lines a child writes, awaited by event (no polling).
function outputMatching(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += String(d);
      const m = text.match(pattern);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code} before ${pattern}: ${text}`)));
  });
}

const embedded = path.join(fixtureDir, 'run-embedded.mjs');

test('run(): a bad --port on the process command line exits 2 (the default reads process.argv)', async () => {
  const child = spawn(process.execPath, [embedded, '--port', 'abc'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 2);
  assert.match(err, /--port needs a whole number/);
});

test("run({ argv: false }): the app's own command line is not read (no exit on --port abc, no daemon verb, no -v)", async () => {
  const child = spawn(process.execPath, [embedded, '--port', 'abc', 'status', '-v', '--app-flag'], {
    env: { ...process.env, RUN_ARGV: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const [, json] = await outputMatching(child, /EMBEDDED (.*)\n/);
    const { port } = JSON.parse(json!) as { port: number };
    assert.ok(port > 0);
    assert.equal((await request(`http://127.0.0.1:${port}/`)).body.toString(), 'embedded');
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('run({ argv: [...] }): the list given is read instead of process.argv', async () => {
  const child = spawn(process.execPath, [embedded, '--port', 'abc'], {
    env: { ...process.env, RUN_ARGV: JSON.stringify(['-v']) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const [, json] = await outputMatching(child, /EMBEDDED (.*)\n/);
    const { port } = JSON.parse(json!) as { port: number };
    const logged = outputMatching(child, /GET \/hello HTTP\/1\.1/);
    await request(`http://127.0.0.1:${port}/hello`);
    await logged; // -v from the list: the request log goes to the console
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('run({ argv }): a bad list or value is an error to the caller, not an exit', async () => {
  await assert.rejects(new Kernel().run({ argv: ['--port', 'abc'] }), {
    code: 'SKT_INVALID_OPTION',
    message: /run\(\) argv.*--port needs a whole number/,
  });
  await assert.rejects(new Kernel().run({ argv: 'yes' as never }), {
    code: 'SKT_INVALID_OPTION',
    message: /true, false or a list of strings/,
  });
});
