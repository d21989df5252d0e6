#!/usr/bin/env node
// Skitai benchmark suite: `npm run bench [-- [--short] [scenario ...]]`. See BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { scenarios } from './scenarios.mjs';
import { BENCH_DIR, ROOT, cpuStat, busyPct, setNice, waitForPort, startServer, freePort, tasksetAvailable, pinned, withOpenFiles, memoryOf } from './lib/proc.mjs';
import { load as httpLoad, wsLoad, h2Load, h2loadAvailable, wrkAvailable, autocannonPath } from './lib/load.mjs';
import http2 from 'node:http2';
import { nginxBinary, nginxVersion } from './lib/nginx.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { fmtInt, fmtRatio, markdownTable, textTable } from './lib/table.mjs';
import { runInstructions, valgrindAvailable } from './lib/instructions.mjs';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const HELP = `usage: npm run bench -- [options] [scenario ...]

scenarios: ${scenarios.map((s) => s.name).join(', ')} (default: all)

options:
  --short            quick look: 3 s runs, 1 s warm-up, 2 rounds (A B A B), 1 idle round
  --rounds N         interleaved rounds per scenario, in alternating order (A B, B A, ...)
                     (default 7, short 2)
  --duration S       seconds per load run (default 4, short 3)
  --warmup S         seconds of warm-up per server (default 3, short 1)
  --connections N    concurrent connections (default 100; static-1m uses 32)
  --idle-count N     idle keep-alive connections for the idle scenario (default 10000)
  --tool wrk|autocannon   load generator (default: wrk when installed)
  --retries N        run again a load run where the server waited for a CPU over 10% of the
                     time, keeping the least disturbed (default 2, short 0)
  --quiet-wait S     before each measured run, wait up to S seconds for the machine to be quiet
                     (other processes under 15 % of the 2 cores) (default 20; 0 with --short or --nice)
  --nice N           run servers and load generator under \`nice -n N\`, and set the session's
                     autogroup nice to N (N < 0 needs root): on a shared machine the server
                     core stays the benchmark's, at the other users' expense (e.g. --nice -10)
  --profile          instead of the table: run each Skitai server of the scenarios once under
                     node --cpu-prof and print its hottest frames (bench/profiles/)
  --profile-all      the same for the node baselines too (nginx is never profiled)
  --instructions     instead of req/s: CPU instructions per request of every node server of the
                     scenarios, counted by valgrind's callgrind (two runs agree within ~0-2 %,
                     whatever else the machine does; req/s ratios here are only good to ~+-0.15,
                     see BENCHMARKS.md for what the count leaves out: system calls). Each
                     server runs under valgrind (start-up not counted), gets its first-answer
                     check, N warm-up requests then N measured ones over ONE keep-alive
                     connection, one at a time (static-1m: N/10; websocket: echoed messages).
                     nginx is not measured; idle, workers and http2-tls are not run. 25-60 s per
                     server, two at a time. Writes bench/results/instructions.{md,json}; with
                     --update-md it prints the table to paste instead of writing BENCHMARKS.md.
                     Needs valgrind (apt-get install -y valgrind; installed as root)
  --requests N       with --instructions: measured requests per server, and as many warm-up
                     ones (default 5000; --short 1000)
  --jobs N           with --instructions: servers under valgrind at the same time (default 2)
  --repeat N         with --instructions: run each server N times and keep the lowest count
                     (the notes give every run): a V8 JIT state sometimes adds ~7 % to one run
  --update-md        write the table into BENCHMARKS.md between its bench markers
  --no-install       never apt-get install missing tools, even as root
  --no-snapshot      import the live kernel/dist instead of a copy taken at the start
  --force            run a named scenario whose feature has not landed (its baselines only)
  --list             list the scenarios and exit
`;

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = { short: false, names: [], tool: null, profile: false, updateMd: false, install: true };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const num = () => { const v = Number(argv[++i]); if (!Number.isFinite(v) || v <= 0) die(`${a} needs a positive number`); return v; };
  if (a === '--short') opt.short = true;
  else if (a === '--rounds') opt.rounds = num();
  else if (a === '--duration') opt.duration = num();
  else if (a === '--warmup') opt.warmup = num();
  else if (a === '--connections') opt.connections = num();
  else if (a === '--idle-count') opt.idleCount = num();
  else if (a === '--tool') opt.tool = argv[++i];
  else if (a === '--retries') opt.retries = Number(argv[++i]);
  else if (a === '--nice') opt.nice = Number(argv[++i]);
  else if (a === '--quiet-wait') opt.quietWait = Number(argv[++i]);
  else if (a === '--profile') opt.profile = true;
  else if (a === '--profile-all') { opt.profile = true; opt.profileAll = true; }
  else if (a === '--update-md') opt.updateMd = true;
  else if (a === '--instructions') opt.instructions = true;
  else if (a === '--requests') opt.requests = num();
  else if (a === '--jobs') opt.jobs = num();
  else if (a === '--repeat') opt.repeat = num();
  else if (a === '--no-install') opt.install = false;
  else if (a === '--force') opt.force = true;
  else if (a === '--no-snapshot') opt.snapshot = false;
  else if (a === '--list') { for (const s of scenarios) console.log(`${s.name.padEnd(10)} ${s.title}`); process.exit(0); }
  else if (a === '-h' || a === '--help') { console.log(HELP); process.exit(0); }
  else if (a.startsWith('-')) die(`unknown option ${a}\n\n${HELP}`);
  else opt.names.push(a);
}
opt.rounds ??= opt.short ? 2 : 7;
opt.duration ??= opt.short ? 3 : 4;
opt.warmup ??= opt.short ? 1 : 3;
opt.connections ??= 100;
opt.idleCount ??= 10000;
opt.idleRounds = opt.short ? 1 : 2;
opt.retries ??= opt.short ? 0 : 2;
opt.snapshot ??= true;
opt.quietWait ??= opt.short || opt.nice < 0 ? 0 : 20;
opt.requests ??= opt.short ? 1000 : 5000;
opt.warmupRequests = opt.requests;
opt.jobs ??= 2;
opt.repeat ??= 1;
if (opt.instructions && opt.profile) die('--instructions and --profile are two different modes: choose one');

function die(msg) { console.error(msg); process.exit(2); }
const log = (...a) => console.error(...a);

for (const n of opt.names) if (!scenarios.some((s) => s.name === n)) die(`unknown scenario "${n}"; known: ${scenarios.map((s) => s.name).join(', ')}`);
const selected = opt.names.length ? scenarios.filter((s) => opt.names.includes(s.name)) : scenarios;

// ---------------------------------------------------------------- tools
const isRoot = process.getuid?.() === 0;
function aptInstall(pkgs) {
  if (!isRoot || !opt.install || spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) return false;
  log(`installing ${pkgs.join(' ')} with apt-get (running as root; --no-install to prevent) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'ignore', env, timeout: 600_000 });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
    r = spawnSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'ignore', env, timeout: 600_000 });
  }
  return r.status === 0;
}

let valgrind = null;
if (opt.instructions) {
  // Only valgrind is needed: no load generator, nothing pinned (the counts do not depend on it).
  valgrind = valgrindAvailable();
  if (!valgrind && aptInstall(['valgrind'])) valgrind = valgrindAvailable();
  if (!valgrind) {
    die(isRoot && opt.install ? 'valgrind could not be installed: apt-get update && apt-get install -y valgrind'
      : `valgrind is not installed: ${isRoot ? '' : 'as root, '}apt-get install -y valgrind${opt.install ? '' : ' (or run without --no-install as root)'}`);
  }
} else {
const needNginx = selected.some((s) => s.name.startsWith('static') || s.name === 'proxy');
const missing = [];
if (!wrkAvailable() && opt.tool !== 'autocannon') missing.push('wrk');
if (needNginx && !nginxBinary()) missing.push('nginx');
if (!tasksetAvailable()) missing.push('util-linux');
if (selected.some((s) => s.loader === 'h2load') && !h2loadAvailable()) missing.push('nghttp2-client');
if (missing.length) aptInstall(missing);
}

let tool = opt.instructions ? 'valgrind' : opt.tool || (wrkAvailable() ? 'wrk' : 'autocannon');
if (tool === 'wrk' && !wrkAvailable()) die('wrk is not installed: apt-get install -y wrk (or --tool autocannon)');
if (tool === 'autocannon' && !autocannonPath()) die('autocannon is not installed (root devDependency): npm install');
if (!opt.tool && tool === 'autocannon') log('note: wrk is not installed (apt-get install -y wrk); using autocannon, which is slower and may bound the fastest servers');
if (!tasksetAvailable() && !opt.instructions) log('WARNING: taskset is missing (apt-get install -y util-linux): servers and load generator are NOT pinned');

const nginx = nginxBinary();
const nginxMissing = 'nginx is not installed: apt-get install -y nginx (Debian) to get the nginx baseline';

// kernel build freshness
function newest(dir, ext) {
  let t = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) t = Math.max(t, fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return t;
}
const kernelDist = path.join(ROOT, 'kernel', 'dist', 'src', 'index.js');
if (!fs.existsSync(kernelDist)) log('note: @skitai/kernel is not built (kernel/dist missing): run `npx tsc -b`; Skitai servers will be skipped');
else if (newest(path.join(ROOT, 'kernel', 'src'), '.ts') > newest(path.join(ROOT, 'kernel', 'dist', 'src'), '.js') + 1000) {
  log('WARNING: kernel/src is newer than kernel/dist: run `npx tsc -b` to measure the current code');
}

// ---------------------------------------------------------------- one run at a time
// Two runs at once would disturb each other's numbers and share the package snapshot.
{
  const lock = path.join(BENCH_DIR, '.run.lock');
  const take = () => { fs.writeFileSync(lock, String(process.pid), { flag: 'wx' }); };
  try {
    take();
  } catch {
    const other = Number(fs.readFileSync(lock, 'utf8')) || 0;
    let alive = false;
    try { if (other) { process.kill(other, 0); alive = true; } } catch { /* gone */ }
    if (alive) die(`another bench run is going on (pid ${other}): runs at the same time disturb each other; wait for it to end`);
    fs.rmSync(lock, { force: true });
    take();
  }
  process.on('exit', () => { try { if (fs.readFileSync(lock, 'utf8') === String(process.pid)) fs.rmSync(lock); } catch { /* gone */ } });
}

// ---------------------------------------------------------------- kernel snapshot
// Other people build kernel/dist while a run goes on: a server started later would measure
// other code than one started earlier. So the run copies the built @skitai packages once, to
// bench/node_modules/@skitai/<name> (dist + package.json). The scenario servers, under
// bench/servers, resolve '@skitai/...' there first; the copies resolve their own dependencies
// (tapable, ws ...) from the root node_modules, and each other from bench/node_modules.
function snapshotPackages() {
  const src = path.join(ROOT, 'node_modules', '@skitai');
  const dst = path.join(BENCH_DIR, 'node_modules', '@skitai');
  fs.rmSync(dst, { recursive: true, force: true });
  fs.mkdirSync(dst, { recursive: true });
  const copied = [];
  for (const name of fs.existsSync(src) ? fs.readdirSync(src) : []) {
    const pkg = fs.realpathSync(path.join(src, name));
    if (!fs.existsSync(path.join(pkg, 'dist', 'src'))) continue;
    fs.mkdirSync(path.join(dst, name, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(pkg, 'package.json'), path.join(dst, name, 'package.json'));
    fs.cpSync(path.join(pkg, 'dist', 'src'), path.join(dst, name, 'dist', 'src'), { recursive: true });
    copied.push(name);
  }
  return copied;
}
if (opt.snapshot) {
  const names = snapshotPackages();
  log(`measuring a snapshot of the built packages (bench/node_modules/@skitai: ${names.join(', ')})`);
  process.on('exit', () => { try { fs.rmSync(path.join(BENCH_DIR, 'node_modules'), { recursive: true, force: true }); } catch { /* best effort */ } });
}

// ---------------------------------------------------------------- fixtures
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-bench-'));
const staticRoot = path.join(tmp, 'www');
const staticDir = path.join(staticRoot, 'static');
fs.mkdirSync(staticDir, { recursive: true });
fs.writeFileSync(path.join(staticDir, 'file-1k.bin'), crypto.randomBytes(1024));
fs.writeFileSync(path.join(staticDir, 'file-1m.bin'), crypto.randomBytes(1024 * 1024));
fs.chmodSync(tmp, 0o755);
process.on('exit', () => { try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* best effort */ } });

if (opt.nice) {
  setNice(opt.nice);
  // With autogroup scheduling (Linux, sched_autogroup_enabled), nice only orders processes
  // within one session's group: set the group's nice too, and put it back at exit.
  try {
    const before = /nice\s+(-?\d+)/.exec(fs.readFileSync('/proc/self/autogroup', 'utf8'))?.[1];
    fs.writeFileSync('/proc/self/autogroup', String(opt.nice));
    if (before !== undefined) process.on('exit', () => { try { fs.writeFileSync('/proc/self/autogroup', before); } catch { /* best effort */ } });
  } catch { /* no autogroup, or not allowed */ }
}
const SERVER_CPUS = '0';
const LOAD_CPUS = '1';
// A self-signed certificate for the TLS scenarios, made on first use.
let tlsPair;
function tlsFiles() {
  if (!tlsPair) {
    tlsPair = { cert: path.join(tmp, 'tls-cert.pem'), key: path.join(tmp, 'tls-key.pem') };
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', tlsPair.key, '-out', tlsPair.cert,
      '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    if (r.status !== 0) die('openssl could not make the TLS scenarios\' certificate');
  }
  return tlsPair;
}
const ctx = { tmp, staticRoot, staticDir, nginx, nginxMissing, nodeFlags: [], tlsCert: () => tlsFiles().cert, tlsKey: () => tlsFiles().key };

// ---------------------------------------------------------------- helpers
/** The scenario's load: WebSocket echo messages or HTTP requests. */
function loadFor(sc) {
  if (sc.loader === 'ws-echo') return (o) => wsLoad({ ...o, url: o.url.replace(/^http:/, 'ws:'), depth: sc.depth });
  if (sc.loader === 'h2load') return (o) => h2Load({ ...o, streams: sc.streams });
  return httpLoad;
}

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

async function verify(port, p, check, timeoutMs = 5000) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const r = await fetch(`http://127.0.0.1:${port}${p}`, { signal: ac.signal });
    const body = Buffer.from(await r.arrayBuffer());
    if (!check(r.status, body)) return `unexpected response to GET ${p}: ${r.status} ${body.length} bytes ${JSON.stringify(body.subarray(0, 80).toString())}`;
    return null;
  } catch (e) {
    return `GET ${p} failed: ${e.message}`;
  } finally { clearTimeout(t); }
}

/** One h2c request (prior knowledge): null when it answers 200 'Hello World'. */
function verifyH2(port, p, scheme = 'http') {
  return new Promise((resolve) => {
    // The TLS scenarios' certificate is self-signed for the run.
    const session = http2.connect(`${scheme}://127.0.0.1:${port}`, { rejectUnauthorized: false });
    const t = setTimeout(() => { session.destroy(); resolve('no HTTP/2 answer in 5 s'); }, 5000);
    const done = (v) => { clearTimeout(t); session.close(); resolve(v); };
    session.on('error', (e) => done(`HTTP/2 (h2c) failed: ${e.message}`));
    const req = session.request({ ':path': p });
    let status = 0, body = '';
    req.on('response', (h) => { status = h[':status']; });
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => done(status === 200 && body === 'Hello World' ? null : `HTTP/2 answer ${status} ${JSON.stringify(body.slice(0, 80))}`));
    req.on('error', (e) => done(`HTTP/2 request failed: ${e.message}`));
    req.end();
  });
}

/**
 * Start one scenario server and check its first answer. lo (the --instructions mode):
 * wrap(spec) -> the command to run instead (under valgrind) or {skip}; readyTimeoutMs;
 * checkTimeoutMs; verify(h) -> null or why, instead of the WebSocket check.
 */
async function launch(sc, srv, cpus, extraCtx = {}, lo = {}) {
  const port = await freePort();
  let spec = srv.spec({ ...ctx, ...extraCtx }, port);
  // with wrap, a spec that skips itself is nginx's (node servers skip once started)
  if (spec.skip && lo.wrap) return { skip: 'not measured (not a node process)', notNode: true };
  if (spec.skip) return { skip: spec.skip };
  if (lo.wrap) { spec = lo.wrap(spec); if (spec.skip) return spec; }
  const h = await startServer({ name: srv.id, cpus, openFiles: sc.kind === 'idle', ...spec, ...(lo.readyTimeoutMs ? { timeoutMs: lo.readyTimeoutMs } : {}) });
  if (h.skip || h.error) return h;
  if (sc.requireWorkers && srv.workers > 1) {
    await sleep(1500);
    const n = h.tree().length;
    if (n < 2) { await h.stop(); return { skip: `the kernel does not fork workers yet (kernel.start({ workers: ${srv.workers} }) left 1 process)` }; }
  }
  try { await waitForPort(h.port, 10000); } catch { /* verify says why */ }
  const bad = lo.verify ? await lo.verify(h)
    : sc.loader === 'ws-echo'
    ? await wsLoad({ url: `ws://127.0.0.1:${h.port}${sc.path}`, seconds: 1, connections: 1, cpus: null, check: true }).catch((e) => e.message)
    : sc.loader === 'h2load' ? await verifyH2(h.port, sc.path, sc.scheme)
    : await verify(h.port, sc.path, sc.check, lo.checkTimeoutMs);
  if (bad) { await h.stop(); return { error: `${srv.id}: ${bad}` }; }
  return h;
}

/**
 * Before a measured run, wait (at most --quiet-wait seconds) until the machine is quiet: the
 * task time of both cores under 15 % over half a second, while our servers are idle.
 */
async function quiet() {
  if (!opt.quietWait) return;
  const deadline = performance.now() + opt.quietWait * 1000;
  let busy = NaN;
  while (performance.now() < deadline) {
    const a = cpuStat();
    await sleep(500);
    busy = busyPct(a, cpuStat(), '0,1', 'task');
    if (busy < 15) return;
  }
  log(`    (the machine stayed busy, ${busy.toFixed(0)}% of 2 cores used by other processes, for ${opt.quietWait} s: measuring anyway)`);
}

// ---------------------------------------------------------------- throughput scenarios
async function runThroughput(sc) {
  const load = loadFor(sc);
  const cpus = sc.serverCpus || SERVER_CPUS;
  const loadCpus = sc.loadCpus || LOAD_CPUS;
  const connections = sc.connections && !argv.includes('--connections') ? sc.connections : opt.connections;
  const rows = [];
  const handles = [];
  let backend;
  if (sc.backend) {
    backend = await launch({ ...sc, path: sc.backend.path, check: sc.check, requireWorkers: false }, sc.backend, sc.backend.cpus);
    if (backend.skip || backend.error) return { rows: [], skip: `backend: ${backend.skip || backend.error}`, connections };
    ctx.backendUrl = `http://127.0.0.1:${backend.port}${sc.backend.path}`;
  }
  try {
  for (const srv of sc.servers) {
    const h = await launch(sc, srv, cpus);
    const row = { scenario: sc.name, server: srv.id, runs: [], note: h.skip || h.error || null, skipped: !!h.skip, failed: !!h.error };
    rows.push(row);
    if (h.skip) log(`  ${srv.id}: skipped: ${h.skip}`);
    else if (h.error) log(`  ${srv.id}: FAILED: ${h.error}`);
    else handles.push({ row, h });
  }
  if (sc.requireWorkers && rows.some((r) => r.skipped)) {
    for (const { h } of handles) await h.stop();
    return { rows: [], skip: rows.find((r) => r.skipped).note, connections };
  }
  const url = (h) => `${sc.scheme ?? 'http'}://127.0.0.1:${h.port}${sc.path}`;
  try {
    for (const { row, h } of handles) {
      log(`  warm-up ${row.server} (${opt.warmup} s)`);
      await load({ url: url(h), seconds: opt.warmup, connections, cpus: loadCpus, tool });
    }
    for (let r = 0; r < opt.rounds; r++) {
      // A B C, C B A, A B C ...: interleaved, and no server always runs first or last.
      const order = r % 2 === 0 ? handles : [...handles].reverse();
      for (const { row, h } of order) {
        let res;
        for (let attempt = 0; attempt <= opt.retries; attempt++) {
          await quiet();
          const cpu0 = h.cpu(), w0 = h.waited(), t0 = performance.now(), st0 = cpuStat();
          const x = await load({ url: url(h), seconds: opt.duration, connections, cpus: loadCpus, tool });
          const st1 = cpuStat();
          const wall = (performance.now() - t0) / 1000;
          x.cpuPct = (100 * (h.cpu() - cpu0)) / wall;
          x.waitPct = (100 * (h.waited() - w0)) / wall;
          x.loadCorePct = busyPct(st0, st1, loadCpus);
          x.serverCorePct = busyPct(st0, st1, cpus);
          x.irqPct = busyPct(st0, st1, cpus, 'irq');
          x.stealPct = busyPct(st0, st1, cpus, 'steal');
          // Task time (user + system) on the server core that was not the server's: other
          // processes. Interrupt and softirq time (the loopback TCP stack) is not counted.
          x.otherPct = sc.serverCpus ? 0 : Math.max(0, busyPct(st0, st1, cpus, 'task') - x.cpuPct);
          x.attempts = attempt + 1;
          // A run where the server waited for a CPU more than 10% of the time (other load
          // held it back) is done again, up to --retries times; the least disturbed is kept.
          if (!res || x.waitPct < res.waitPct) res = x;
          if (!(x.waitPct > 10)) break;
          log(`    (the server waited for a CPU ${x.waitPct.toFixed(0)}% of the run: ${attempt < opt.retries ? 'again' : 'kept the least disturbed run'})`);
        }
        res.rpcs = res.rps / (res.cpuPct / 100);
        row.runs.push(res);
        const bad = res.errors || res.non2xx ? `  (errors ${res.errors}, non-2xx ${res.non2xx})` : '';
        log(`  round ${r + 1}/${opt.rounds} ${row.server.padEnd(24)} ${res.rps.toFixed(0).padStart(7)} req/s  p99 ${res.p99ms.toFixed(2)} ms  server ${res.cpuPct.toFixed(0)}% CPU (waited ${res.waitPct.toFixed(0)}%), server core ${res.serverCorePct.toFixed(0)}% busy (other tasks ${res.otherPct.toFixed(0)}%, irq ${res.irqPct.toFixed(0)}%, steal ${res.stealPct.toFixed(0)}%), ${sc.loader || tool} ${res.loadCpuPct.toFixed(0)}% CPU, load core ${res.loadCorePct.toFixed(0)}% busy${bad}`);
      }
    }
  } finally {
    for (const { row, h } of handles) {
      row.mem = h.memory();
      await h.stop();
    }
  }
  } finally {
    if (backend) await backend.stop();
  }
  for (const row of rows) {
    row.rps = median(row.runs.map((x) => x.rps));
    row.p99ms = median(row.runs.map((x) => x.p99ms));
    row.cpuPct = median(row.runs.map((x) => x.cpuPct));
    row.loadCpuPct = median(row.runs.map((x) => x.loadCpuPct));
    row.otherPct = median(row.runs.map((x) => x.otherPct));
    row.waitPct = median(row.runs.map((x) => x.waitPct));
    row.rpcs = median(row.runs.map((x) => x.rpcs));
    const notes = [];
    if (row.loadCpuPct > 90 && row.cpuPct < 85) notes.push(`${sc.loader || tool} at ${row.loadCpuPct.toFixed(0)}% CPU: bound by the load generator`);
    if (row.waitPct > 10) notes.push(`the server waited for a CPU ${row.waitPct.toFixed(0)}% of the time (other load, or its own threads)`);
    if (notes.length) row.note = [row.note, ...notes].filter(Boolean).join('; ');
    row.errors = row.runs.reduce((a, x) => a + x.errors + x.non2xx, 0);
    row.peakKiB = row.mem?.hwmKiB;
    row.processes = row.mem?.processes;
  }
  return { rows, connections };
}

// ---------------------------------------------------------------- idle connections scenario
function startClient(port, count) {
  const script = path.join(BENCH_DIR, 'clients', 'idle-conns.mjs');
  let [c, a] = pinned(LOAD_CPUS, process.execPath, [script, String(port), '--count', String(count), '--hold', '120']);
  [c, a] = withOpenFiles(c, a);
  const child = spawn(c, a, { stdio: ['pipe', 'pipe', 'pipe'] });
  const first = new Promise((resolve) => {
    let buf = '';
    const t = setTimeout(() => resolve({ error: 'idle client: no report in 120 s' }), 120_000);
    child.stdout.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) { clearTimeout(t); try { resolve(JSON.parse(buf.slice(0, i))); } catch (e) { resolve({ error: e.message }); } }
    });
    child.on('exit', (code) => { clearTimeout(t); resolve({ error: `idle client exited (${code})` }); });
  });
  const stop = () => new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', r);
    child.kill('SIGTERM');
    setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 5000).unref();
  });
  return { first, stop };
}

async function runIdle(sc) {
  const rows = sc.servers.map((srv) => ({ scenario: sc.name, server: srv.id, runs: [], note: null }));
  for (let r = 0; r < opt.idleRounds; r++) {
    for (let i = 0; i < sc.servers.length; i++) {
      const srv = sc.servers[i], row = rows[i];
      if (row.skipped || (row.failed && r > 0)) continue;
      const h = await launch(sc, srv, SERVER_CPUS);
      if (h.skip || h.error) {
        row.note = h.skip || h.error; row.skipped = !!h.skip; row.failed = !!h.error;
        log(`  ${srv.id}: ${h.skip ? 'skipped' : 'FAILED'}: ${row.note}`);
        continue;
      }
      try {
        const before = h.memory();
        const client = startClient(h.port, opt.idleCount);
        const rep = await client.first;
        await sleep(1000);
        const mem = h.memory();
        const stillOk = await verify(h.port, sc.path, sc.check);
        await client.stop();
        if (rep.error) { row.note = rep.error; row.failed = true; log(`  ${srv.id}: FAILED: ${rep.error}`); continue; }
        row.runs.push({ open: rep.open, failed: rep.failed, ms: rep.ms, idleKiB: before.rssKiB, rssKiB: mem.rssKiB, hwmKiB: mem.hwmKiB, servingAfter: !stillOk });
        log(`  round ${r + 1}/${opt.idleRounds} ${srv.id.padEnd(24)} open ${rep.open} (failed ${rep.failed}, ${rep.ms} ms)  RSS ${(before.rssKiB / 1024).toFixed(1)} -> ${(mem.rssKiB / 1024).toFixed(1)} MiB, peak ${(mem.hwmKiB / 1024).toFixed(1)} MiB${stillOk ? '  still serving: NO ' + stillOk : ''}`);
      } finally {
        await h.stop();
      }
    }
  }
  for (const row of rows) {
    row.rssKiB = median(row.runs.map((x) => x.rssKiB));
    row.peakKiB = median(row.runs.map((x) => x.hwmKiB));
    row.perConnB = median(row.runs.map((x) => ((x.rssKiB - x.idleKiB) * 1024) / Math.max(1, x.open)));
    const opened = Math.min(...row.runs.map((x) => x.open));
    const failed = Math.max(0, ...row.runs.map((x) => x.failed));
    if (row.runs.length) row.note = `RSS with ${opened} idle connections open${failed ? ` (${failed} failed)` : ''}; ~${(row.perConnB / 1024).toFixed(1)} KiB/conn over the idle server`;
  }
  return { rows };
}

// ---------------------------------------------------------------- profiling
async function runProfile(sc) {
  let backend;
  if (sc.backend) {
    backend = await launch({ ...sc, path: sc.backend.path, requireWorkers: false }, sc.backend, sc.backend.cpus);
    if (backend.skip || backend.error) { log(`  backend: ${backend.skip || backend.error}`); return []; }
    ctx.backendUrl = `http://127.0.0.1:${backend.port}${sc.backend.path}`;
  }
  try { return await profileServers(sc); } finally { if (backend) await backend.stop(); }
}

async function profileServers(sc) {
  const load = loadFor(sc);
  const dir = path.join(BENCH_DIR, 'profiles');
  fs.mkdirSync(dir, { recursive: true });
  const out = [];
  for (const srv of sc.servers.filter((s) => s.subject || opt.profileAll)) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const pdir = path.join(dir, `${sc.name}-${srv.id.replace(/[^a-z0-9]+/gi, '_')}-${stamp}`);
    const h = await launch(sc, srv, sc.serverCpus || SERVER_CPUS, { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', pdir] });
    if (h.skip || h.error) { log(`  ${srv.id}: ${h.skip || h.error}`); continue; }
    if (!h.child.spawnargs.includes('--cpu-prof')) { await h.stop(); continue; }
    const connections = sc.connections || opt.connections;
    await load({ url: `http://127.0.0.1:${h.port}${sc.path}`, seconds: opt.warmup, connections, cpus: LOAD_CPUS, tool });
    const res = await load({ url: `http://127.0.0.1:${h.port}${sc.path}`, seconds: opt.duration, connections, cpus: LOAD_CPUS, tool });
    await h.stop();
    const files = fs.existsSync(pdir) ? fs.readdirSync(pdir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (!files.length) { log(`  ${srv.id}: no profile written in ${pdir}`); continue; }
    const summary = summarizeProfile(path.join(pdir, files[0]), { root: ROOT + '/' });
    const text = `# ${sc.name} / ${srv.id}: ${res.rps.toFixed(0)} req/s under --cpu-prof (${opt.duration} s, ${connections} connections)\n${summary}\n`;
    fs.writeFileSync(path.join(pdir, 'summary.txt'), text);
    out.push(text);
    console.log(text);
  }
  return out;
}

// ---------------------------------------------------------------- table
const fmtRps = fmtInt;
const fmtMs = (v) => (Number.isFinite(v) ? v.toFixed(2) : '-');
const fmtMiB = (kib) => (Number.isFinite(kib) && kib > 0 ? (kib / 1024).toFixed(1) : '-');

function tableRows(results) {
  const lines = [];
  for (const { sc, res } of results) {
    if (res.skip) { lines.push([sc.name, '(skipped)', '-', '-', '-', '-', '-', '-', '-', res.skip]); continue; }
    const rss = sc.kind === 'idle';
    const base = res.rows.find((r) => (rss ? Number.isFinite(r.rssKiB) : Number.isFinite(r.rps)));
    for (const row of res.rows) {
      const ratio = !base ? NaN : rss ? row.rssKiB / base.rssKiB : row.rps / base.rps;
      const note = [row.note, row.errors ? `${row.errors} errors/non-2xx` : '', row.processes > 1 ? `${row.processes} processes` : '']
        .filter(Boolean).join('; ');
      lines.push([
        sc.name,
        row.server + (row === base ? ' (baseline)' : ''),
        rss ? '-' : fmtRps(row.rps),
        rss ? '-' : fmtMs(row.p99ms),
        fmtMiB(rss ? row.rssKiB : row.peakKiB),
        fmtRatio(ratio),
        Number.isFinite(row.cpuPct) ? row.cpuPct.toFixed(0) : '-',
        rss ? '-' : fmtRps(row.rpcs),
        rss || !base ? '-' : fmtRatio(row.rpcs / base.rpcs),
        row.skipped ? `skipped: ${note}` : row.failed ? `FAILED: ${note}` : note,
      ]);
    }
  }
  return lines;
}

const HEAD = ['scenario', 'server', 'req/s (median)', 'p99 ms', 'peak RSS MiB', 'ratio', 'server CPU %', 'req per CPU-s', 'ratio per CPU-s', 'notes'];
const NUMERIC = (i) => i >= 2 && i <= 8;

function targetLines(results) {
  const out = [];
  for (const { sc, res } of results) {
    for (const t of sc.targets || []) {
      const want = t.min != null ? `>= ${t.min}` : `<= ${t.max}`;
      const label = `${sc.name}: ${t.server} / ${t.vs} ${t.metric === 'rss' ? 'RSS' : 'req/s'}`;
      if (res.skip || !res.rows) { out.push(`${label}: not measured (${res.skip || 'skipped'}) [target ${want}]`); continue; }
      const a = res.rows.find((r) => r.server === t.server), b = res.rows.find((r) => r.server === t.vs);
      const va = t.metric === 'rss' ? a?.rssKiB : a?.rps, vb = t.metric === 'rss' ? b?.rssKiB : b?.rps;
      if (!Number.isFinite(va) || !Number.isFinite(vb)) {
        out.push(`${label}: not measured (${(a?.note || b?.note || 'no data')}) [target ${want}]`);
        continue;
      }
      const r = va / vb;
      if (t.metric === 'rss') {
        out.push(`${label} = ${r.toFixed(2)} [target ${want}]: ${(t.min != null ? r >= t.min : r <= t.max) ? 'MET' : 'MISSED'}`);
        continue;
      }
      // The two servers of one round ran within seconds of each other: the ratio of each round
      // cancels the slow changes of this VM's speed that the ratio of medians keeps. The
      // target is judged on the median of those per-round ratios.
      const rounds = a.runs.map((x, i) => x.rps / b.runs[i]?.rps).filter(Number.isFinite);
      const paired = rounds.length ? median(rounds) : r;
      const ok = t.min != null ? paired >= t.min : paired <= t.max;
      const perCpu = Number.isFinite(a.rpcs / b.rpcs) ? `; per server CPU-second: ${(a.rpcs / b.rpcs).toFixed(2)}` : '';
      out.push(`${label} = ${paired.toFixed(2)} (median of the rounds' ratios ${rounds.map((x) => x.toFixed(2)).join(', ')}) [target ${want}]: ${ok ? 'MET' : 'MISSED'} (ratio of the medians: ${r.toFixed(2)}${perCpu})`);
    }
  }
  return out;
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  const mem = (os.totalmem() / 2 ** 30).toFixed(1);
  const wrkV = tool === 'wrk' ? (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout || '').split('\n')[0].split(' [')[0] : tool;
  return `${os.cpus().length} CPUs (${cpu}), ${mem} GiB RAM, Linux ${os.release()}, Node ${process.version}, ${wrkV}${nginx ? ', nginx ' + nginxVersion(nginx) : ''}`;
}

// ---------------------------------------------------------------- main
const started = new Date();
const gitHead = (() => {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'kernel/src', 'plugins'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return r.stdout.trim() + (dirty ? ' + uncommitted kernel/plugin changes' : '');
})();
const loadavgAtStart = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const cmdline = `npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}`;
log(`skitai bench: ${cmdline}`);
log(`  ${machine()}`);
if (!opt.instructions) log(`  servers on CPU ${SERVER_CPUS}, ${tool} on CPU ${LOAD_CPUS}; ${opt.rounds} rounds x ${opt.duration} s, warm-up ${opt.warmup} s, ${opt.connections} connections`);

if (opt.instructions) {
  const code = await runInstructions({
    selected, opt, ctx, tmp, launch, log, gitHead, cmdline, valgrind,
    outDir: path.join(BENCH_DIR, 'results'),
    pending: async (sc) => (opt.force && opt.names.includes(sc.name) ? null : (await sc.pending?.()) || null),
  });
  process.exit(code);
}

const results = [];
const profiles = [];
for (const sc of selected) {
  const pend = opt.force && opt.names.includes(sc.name) ? null : await sc.pending?.();
  if (sc.loader === 'h2load' && !pend && !h2loadAvailable()) { const m = 'h2load is not installed: apt-get install -y nghttp2-client'; log(`\n[${sc.name}] skipped: ${m}`); results.push({ sc, res: { skip: m } }); continue; }
  if (pend) { log(`\n[${sc.name}] ${sc.title}: skipped: ${pend}`); results.push({ sc, res: { skip: pend } }); continue; }
  log(`\n[${sc.name}] ${sc.title}`);
  try {
    if (opt.profile) { if (sc.kind !== 'idle') profiles.push(...(await runProfile(sc))); continue; }
    const res = sc.kind === 'idle' ? await runIdle(sc) : await runThroughput(sc);
    if (res.skip) log(`  skipped: ${res.skip}`);
    results.push({ sc, res });
  } catch (e) {
    log(`  FAILED: ${e.stack || e.message}`);
    results.push({ sc, res: { skip: `failed: ${e.message.split('\n')[0]}` } });
  }
}
if (opt.profile) process.exit(0);

const lines = tableRows(results);
const targets = targetLines(results);
const finished = new Date();
const header = `${finished.toISOString().slice(0, 16).replace('T', ' ')} UTC, \`${cmdline}\` at commit ${gitHead}, ${tool}, ${opt.rounds} interleaved rounds x ${opt.duration} s (warm-up ${opt.warmup} s), ${opt.connections} connections (static-1m: 32), servers pinned to CPU ${SERVER_CPUS}, load to CPU ${LOAD_CPUS}${opt.nice ? `, nice ${opt.nice}` : ''}, load average at start ${loadavgAtStart}`;
console.log('\n' + header);
console.log(machine() + '\n');
console.log(textTable(HEAD, NUMERIC, lines));
console.log('\ntargets:\n' + (targets.length ? targets.map((t) => '  ' + t).join('\n') : '  (none in these scenarios)'));

const md = [
  `Run: ${header}.`, '',
  `Machine: ${machine()}.`, '',
  markdownTable(HEAD, NUMERIC, lines), '',
  'Targets (ratios from this run):', '',
  ...targets.map((t) => `- ${t}`),
].join('\n');

const outDir = path.join(BENCH_DIR, 'results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'latest.md'), md + '\n');
fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify({
  started: started.toISOString(), finished: finished.toISOString(), command: cmdline, tool, machine: machine(), options: opt,
  results: results.map(({ sc, res }) => ({ scenario: sc.name, skip: res.skip, rows: res.rows })),
  targets,
}, null, 2) + '\n');
log(`\nwrote bench/results/latest.md and latest.json (${((finished - started) / 1000).toFixed(0)} s)`);

if (opt.updateMd) {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const START = '<!-- bench:table:start -->', END = '<!-- bench:table:end -->';
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  if (!doc.includes(START)) doc += `\n${START}\n${END}\n`;
  doc = doc.slice(0, doc.indexOf(START) + START.length) + '\n' + md + '\n' + doc.slice(doc.indexOf(END));
  fs.writeFileSync(file, doc);
  log('updated BENCHMARKS.md');
}
