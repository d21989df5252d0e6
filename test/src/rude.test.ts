// No rude client can bring a process down: thousands of connections that reset, half-close or
// send garbage at every phase (headers, body, response, refused and accepted upgrades), against
// one process and against 2 workers; afterwards every process that served at the start (by
// its pid) answers a normal request.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repo } from '../support/net.js';
import { plainGet, rudeClients, RUDE_KINDS, type RudeTargets } from '../support/rude.js';

const FIXTURE = path.join(repo, 'test/support/fixtures/rude-server.mjs');
const CONNECTIONS = Number(process.env.RUDE_CONNECTIONS ?? 3000);

const targets: RudeTargets = {
  bigFile: '/static/big.bin',
  upload: '/api/sink',
  noTaker: '/static/small.txt',
  refused: '/api/anything',
  appRefused: '/chat/chat',
  accepted: '/ws',
};

interface Server {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: () => boolean;
}

function startServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [FIXTURE, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    cwd: path.dirname(FIXTURE),
  });
  let output = '';
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /(?:workers|\(M\)) listening on http:\/\/[^\s]+:(\d+)/.exec(output);
      if (m) resolve({ child, port: Number(m[1]), output: () => output, exited: () => exited });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) =>
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${output}`)),
    );
  });
}

function stopServer(s: Server): Promise<void> {
  if (s.exited()) return Promise.resolve();
  return new Promise((resolve) => {
    s.child.once('exit', () => resolve());
    try {
      process.kill(-s.child.pid!, 'SIGKILL');
    } catch {
      resolve();
    }
  });
}

/** Asks `/` on new connections until `want` distinct processes answered (or `tries` ran out). */
async function answering(port: number, want: number, tries: number, must?: Set<string>): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < tries; i++) {
    const r = await plainGet(port, '/');
    assert.equal(r.status, 200);
    seen.add(r.headers['x-worker']!);
    if (must ? [...must].every((w) => seen.has(w)) : seen.size >= want) break;
  }
  return seen;
}

async function survive(args: string[], processes: number): Promise<void> {
  const s = await startServer(args);
  try {
    const before = await answering(s.port, processes, 50);
    assert.equal(before.size, processes, `processes answering at the start: ${[...before]}`);
    const counts = await rudeClients(s.port, targets, CONNECTIONS);
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      CONNECTIONS,
    );
    assert.deepEqual(Object.keys(counts).sort(), [...RUDE_KINDS].sort());
    assert.equal(s.exited(), false, `the server exited:\n${s.output()}`);
    const after = await answering(s.port, processes, 100, before);
    assert.deepEqual(
      [...after].filter((w) => before.has(w)).sort(),
      [...before].sort(),
      `every process of the start answers after ${CONNECTIONS} rude clients (a missing one died):\n${s.output().slice(-3000)}`,
    );
    assert.doesNotMatch(s.output(), /uncaught|unhandled|worker \S+ (died|exited)/i);
  } finally {
    await stopServer(s);
  }
}

describe('rude clients', { timeout: 120_000 }, () => {
  test(`one process survives ${CONNECTIONS} rude clients of every kind`, () => survive([], 1));
  test(`2 workers survive ${CONNECTIONS} rude clients of every kind; both answer afterwards`, () =>
    survive(['--workers', '2'], 2));
});
