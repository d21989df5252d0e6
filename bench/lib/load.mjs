// The load generators: wrk (preferred) or autocannon, and h2load (HTTP/2, and every request's latency over
// HTTP/1.1), pinned to the load core, bounded in time.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pinned, runBounded, ROOT } from './proc.mjs';

export function wrkAvailable() {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return !r.error && /wrk/.test((r.stdout || '') + (r.stderr || ''));
}

export function autocannonPath() {
  try {
    const require = createRequire(path.join(ROOT, 'package.json'));
    return path.join(path.dirname(require.resolve('autocannon/package.json')), 'autocannon.js');
  } catch {
    return null;
  }
}

let logSeq = 0;

const UNIT = { us: 1e-3, ms: 1, s: 1e3, m: 60e3 };
function ms(v) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  return m ? Number(m[1]) * UNIT[m[2]] : NaN;
}

export function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
  const total = Number(/(\d+) requests in/.exec(out)?.[1] || 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] || 0);
  const errors = sock ? Number(sock[1]) + Number(sock[3]) + Number(sock[4]) : 0;
  return {
    rps,
    p99ms: p99 ? ms(p99) : NaN,
    p50ms: p50 ? ms(p50) : NaN,
    total,
    errors,
    readErrors: sock ? Number(sock[2]) : 0,
    non2xx,
  };
}

/**
 * One load run: {url, seconds, connections, cpus, tool} -> {rps, p99ms, p50ms, errors, non2xx}.
 * The generator is killed if it overruns its duration by 30 s.
 */
/** Run through `sh -c '...; times'` so the generator's own CPU time is known (POSIX `times`). */
async function timed(cmd, args, timeoutMs) {
  const q = (x) => `'${String(x).replace(/'/g, `'\\''`)}'`;
  const r = await runBounded('sh', ['-c', `${[cmd, ...args].map(q).join(' ')}; rc=$?; times >&2; exit $rc`], {
    timeoutMs,
  });
  const lines = r.stderr.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(lines[lines.length - 1] || '');
  r.cpuSeconds = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
  if (m) r.stderr = lines.slice(0, -2).join('\n');
  return r;
}

export async function load({ url, seconds, connections, cpus, tool, threads = 1 }) {
  const timeoutMs = (seconds + 30) * 1000;
  const t0 = performance.now();
  const res = await load1({ url, seconds, connections, cpus, tool, threads, timeoutMs });
  res.loadCpuPct = (100 * res.cpuSeconds) / ((performance.now() - t0) / 1000);
  return res;
}

async function load1({ url, seconds, connections, cpus, tool, threads, timeoutMs }) {
  if (tool === 'wrk') {
    const [c, a] = pinned(cpus, 'wrk', [
      '-t',
      String(threads),
      '-c',
      String(connections),
      '-d',
      `${seconds}s`,
      '--timeout',
      '5s',
      '--latency',
      url,
    ]);
    const r = await timed(c, a, timeoutMs);
    if (r.code !== 0) throw new Error(`wrk failed (${r.code ?? r.sig}): ${r.stderr || r.stdout}`);
    return { ...parseWrk(r.stdout), cpuSeconds: r.cpuSeconds };
  }
  const ac = autocannonPath();
  if (!ac) throw new Error('neither wrk nor autocannon is available');
  const [c, a] = pinned(cpus, process.execPath, [
    ac,
    '--json',
    '-c',
    String(connections),
    '-d',
    String(seconds),
    '-t',
    '5',
    url,
  ]);
  const r = await timed(c, a, timeoutMs);
  if (r.code !== 0) throw new Error(`autocannon failed (${r.code ?? r.sig}): ${r.stderr}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  return {
    rps: j.requests.total / (j.duration || seconds),
    p99ms: j.latency.p99,
    p50ms: j.latency.p50,
    total: j.requests.total,
    errors: (j.errors || 0) + (j.timeouts || 0),
    readErrors: 0,
    non2xx: j.non2xx || 0,
    cpuSeconds: r.cpuSeconds,
  };
}

/** WebSocket echo load (bench/clients/ws-echo.mjs), pinned and bounded like the others. */
export async function wsLoad({ url, seconds, connections, cpus, depth = 4, check = false }) {
  const script = path.join(ROOT, 'bench', 'clients', 'ws-echo.mjs');
  const args = [
    script,
    url,
    '--seconds',
    String(seconds),
    '--connections',
    String(connections),
    '--depth',
    String(depth),
  ];
  if (check) args.push('--check');
  const [c, a] = pinned(cpus, process.execPath, args);
  const t0 = performance.now();
  const r = await timed(c, a, (seconds + 30) * 1000);
  let j;
  try {
    j = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    throw new Error(`ws-echo client failed (${r.code ?? r.sig}): ${r.stderr || r.stdout}`);
  }
  if (check) return j.total === 1 && !j.bad ? null : `no echo over WebSocket: ${r.stdout.trim()} ${r.stderr.trim()}`;
  return {
    ...j,
    non2xx: j.bad || 0,
    readErrors: 0,
    cpuSeconds: r.cpuSeconds,
    loadCpuPct: (100 * r.cpuSeconds) / ((performance.now() - t0) / 1000),
  };
}

let h2loadFound = false;
/** Whether h2load runs; a yes is kept (the latency runs ask before every round), a no asked again (it may be installed since). */
export function h2loadAvailable() {
  if (!h2loadFound) {
    const r = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
    h2loadFound = !r.error && r.status === 0;
  }
  return h2loadFound;
}

/**
 * p50 and p99 of one h2load run from its per-request log (`--log-file`: start time, status and
 * microseconds to the end of the response, one request a line): every request counted once.
 */
export function perRequestLatency(logText) {
  const us = [];
  for (const line of logText.split('\n')) {
    const t = Number(line.split('\t')[2]);
    if (line !== '' && Number.isFinite(t)) us.push(t);
  }
  us.sort((a, b) => a - b);
  const at = (p) => (us.length ? us[Math.min(us.length - 1, Math.floor(us.length * p))] / 1000 : NaN);
  return { p50ms: at(0.5), p99ms: at(0.99), maxMs: us.length ? us[us.length - 1] / 1000 : NaN, n: us.length };
}

/**
 * Load with h2load: HTTP/2 (h2c by prior knowledge for http:// URLs, `streams` per connection)
 * or, with `h1`, HTTP/1.1 keep-alive, one request at a time per connection, as wrk does. Its
 * p50/p99 are read from the per-request log, never corrected or sampled (see
 * BENCHMARKS.md, "Latency").
 */
export async function h2Load({ url, seconds, connections, cpus, streams = 10, h1 = false }) {
  const logFile = path.join(os.tmpdir(), `skitai-bench-h2load-${process.pid}-${++logSeq}.tsv`);
  const [c, a] = pinned(cpus, 'h2load', [
    '-c',
    String(connections),
    ...(h1 ? ['--h1'] : ['-m', String(streams)]),
    '-t',
    '1',
    '-D',
    String(seconds),
    `--log-file=${logFile}`,
    url,
  ]);
  const t0 = performance.now();
  let r, lat;
  try {
    r = await timed(c, a, (seconds + 30) * 1000);
    lat = perRequestLatency(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  } finally {
    fs.rmSync(logFile, { force: true });
  }
  const out = r.stdout;
  const rps = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`h2load failed (${r.code ?? r.sig}): ${r.stderr || out}`);
  const req =
    /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const codes = /status codes: (\d+) 2xx/.exec(out);
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1];
  const total = req ? Number(req[1]) : 0;
  return {
    rps,
    p99ms: lat.p99ms,
    p50ms: lat.p50ms,
    maxMs: lat.maxMs,
    meanMs: mean ? ms(mean) : NaN,
    total,
    errors: req ? Number(req[4]) + Number(req[5]) + Number(req[6]) : 0,
    non2xx: req && codes ? Number(req[3]) - Number(codes[1]) : 0,
    readErrors: 0,
    cpuSeconds: r.cpuSeconds,
    loadCpuPct: (100 * r.cpuSeconds) / ((performance.now() - t0) / 1000),
  };
}
