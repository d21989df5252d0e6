// Micro-benchmark: the client-side cost of one `was.get` to a keep-alive backend, against a
// bare node:http Agent call and an undici Pool call doing the same work (send, read the body,
// parse JSON). The backend runs in a child process so that its work is not counted; the
// figure that matters is the client's CPU time per call (robust on a busy machine), with the
// calls per second beside it.
//
//   npx tsc -b && node kernel/dist/test-support/services-bench.js [calls] [concurrency]
import http from 'node:http';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Kernel } from '@skitai/kernel';
import { BackendServices, services } from '../src/index.js';

const calls = Number(process.argv[2] ?? 20000);
const concurrency = Number(process.argv[3] ?? 1);

const backendSource = `
const http = require('node:http');
const body = JSON.stringify({ id: 42, name: 'Hans Roh', tags: ['a', 'b', 'c'] });
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startBackend(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', backendSource], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) =>
    child.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))),
  );
  return { port, stop: () => child.kill() };
}

interface Measure {
  name: string;
  perSecond: number;
  cpuMicrosPerCall: number;
}

async function measure(name: string, one: () => Promise<unknown>): Promise<Measure> {
  const warm = Math.min(2000, calls / 4);
  for (let i = 0; i < warm; i++) await one();
  let left = calls;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left > 0) {
        left--;
        await one();
      }
    }),
  );
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { name, perSecond: Math.round(calls / (ms / 1000)), cpuMicrosPerCall: (used.user + used.system) / calls };
}

async function main(): Promise<void> {
  const backend = await startBackend();
  const url = `http://127.0.0.1:${backend.port}/users/42`;
  const results: Measure[] = [];

  // 1. bare node:http with a keep-alive Agent
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const bare = () =>
    new Promise<unknown>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: backend.port, path: '/users/42', agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });

  // 2. undici Pool (a dev dependency of the monorepo, not of the kernel)
  let undiciCall: (() => Promise<unknown>) | undefined;
  let pool: { close(): Promise<void> } | undefined;
  try {
    const undici = await import('undici');
    const p = new undici.Pool(`http://127.0.0.1:${backend.port}`, { connections: Math.max(concurrency, 1) });
    pool = p;
    undiciCall = async () => {
      const { body } = await p.request({ path: '/users/42', method: 'GET' });
      return body.json();
    };
  } catch {
    /* undici not installed: skipped */
  }

  // 3. was.get: a kernel's services, one `was` per 1 call (as one request making one call)
  const kernel = new Kernel().use(services());
  kernel.alias('@bench', 'http', `127.0.0.1:${backend.port}`);
  await kernel.start({ address: '127.0.0.1', port: 0 });
  const fakeReq = () => ({ gtxnId: '', ltxnId: '', headers: {} }) as any;
  const wasGet = () => kernel.createWas(fakeReq(), undefined as any).get(url);
  const wasAlias = () => kernel.createWas(fakeReq(), undefined as any).get('@bench/users/42');
  const wasLb = () => kernel.createWas(fakeReq(), undefined as any).get.lb('@bench/users/42');
  // 4. the call context alone, reused (no per-request objects)
  const standalone = new BackendServices();
  const ctxGet = standalone.context().http('GET');
  const ctxCall = () => ctxGet(url);

  for (let round = 0; round < 2; round++) {
    results.push(await measure('node:http Agent', bare));
    if (undiciCall) results.push(await measure('undici Pool', undiciCall));
    results.push(await measure('was.get(url)', wasGet));
    results.push(await measure("was.get('@alias/..')", wasAlias));
    results.push(await measure("was.get.lb('@alias/..')", wasLb));
    results.push(await measure('context.get(url), reused', ctxCall));
  }
  // best of the rounds per variant
  const best = new Map<string, Measure>();
  for (const r of results) {
    const b = best.get(r.name);
    if (!b || r.cpuMicrosPerCall < b.cpuMicrosPerCall) best.set(r.name, r);
  }
  const base = best.get('node:http Agent')!;
  console.log(`${calls} calls, ${concurrency} at a time, Node ${process.version}; backend in a child process`);
  console.log('client                        calls/s   CPU us/call   CPU vs node:http Agent');
  for (const r of best.values()) {
    console.log(
      `${r.name.padEnd(28)} ${String(r.perSecond).padStart(8)}   ${r.cpuMicrosPerCall.toFixed(1).padStart(11)}   ${(r.cpuMicrosPerCall / base.cpuMicrosPerCall).toFixed(2).padStart(6)}x`,
    );
  }
  agent.destroy();
  await pool?.close();
  await kernel.stop();
  await standalone.close();
  backend.stop();
}

await main();
