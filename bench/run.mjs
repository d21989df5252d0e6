#!/usr/bin/env node
// Skitai benchmark suite: `npm run bench [-- [--short] [scenario ...]]`. See BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { scenarios } from './scenarios.mjs';
import {
  BENCH_DIR,
  ROOT,
  cpuStat,
  busyPct,
  setNice,
  waitForPort,
  startServer,
  freePort,
  tasksetAvailable,
  pinned,
  withOpenFiles,
} from './lib/proc.mjs';
import { load as httpLoad, wsLoad, h2Load, h2loadAvailable, wrkAvailable, autocannonPath } from './lib/load.mjs';
import http2 from 'node:http2';
import { nginxBinary, nginxVersion } from './lib/nginx.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { fmtInt, fmtRatio, markdownTable, textTable } from './lib/table.mjs';
import { runInstructions, valgrindAvailable } from './lib/instructions.mjs';
import { getHead, headDiff, headText } from './lib/same.mjs';
import { coldStart } from './lib/cold.mjs';
import { ensurePackageEntries } from '../scripts/package-entry.mjs';
import { printReport } from './lib/report.mjs';
// The workspace's test helper (built by tsc -b, as the servers measured are).
import { selfSignedCert } from '@skitai/test-support';
import { verdictLine } from './lib/verdict.mjs';
import { tailModule, readTail } from './lib/tail.mjs';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const HELP = `usage: npm run bench -- [options] [scenario ...]

scenarios: ${scenarios.map((s) => s.name).join(', ')} (default: all)

options:
  --short            quick look: 3 s runs, 1 s warm-up, 2 rounds (A B A B), 1 idle round
  --rounds N         interleaved rounds per scenario, in alternating order (A B, B A, ...)
                     (default 6, short 2)
  --duration S       seconds per load run (default 3)
  --warmup S         seconds of warm-up per server (default 2, short 1)
  --cold-rounds N    process starts per server in cold-start (default 10, short 3)
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
                     --connections N with --instructions: the requests go over N keep-alive
                     connections (each one request at a time, all N at once), so what many
                     connections cost shows (default: one connection)
  --jobs N           with --instructions: servers under valgrind at the same time (default 2)
  --repeat N         with --instructions: run each server N times and keep the lowest count
                     (the notes give every run): a V8 JIT state sometimes adds ~7 % to one run
  --no-functions     with --instructions: no per-function profiles. By default node runs with
                     --perf-basic-prof (JIT frames named), each server's main-thread callgrind
                     file and perf map are kept in bench/profiles/callgrind/, and every target
                     with a node baseline gets a per-function diff (by owner and by function):
                     bench/results/profiles.{md,json}
  --update-md        after the run, write the report (--report) into BENCHMARKS.md between
                     its bench markers (the targets not met get their profile blocks between
                     the bench:profiles markers)
  --report           run nothing: print the whole table (Markdown) of the last req/s run and
                     the last --instructions run (bench/results/), the commit each ran at and
                     every target judged on all its measures; with --update-md, into
                     BENCHMARKS.md
  --check            run nothing under load: start each server of the scenarios, print the
                     head of its first answer and the like-for-like comparison of each target
  --tail             instead of the table: per server, GC pauses and the event-loop delay
                     histogram during one load run beside wrk's p50/p99 (what makes the tail)
  --no-install       never apt-get install missing tools, even as root
  --no-snapshot      import the live kernel/dist instead of a copy taken at the start
  --node-flags TEXT  node options given to every node server, split at spaces: e.g.
                     --node-flags --perf-basic-prof, so that \`perf record -p PID\` names
                     the JavaScript frames of a server during a run
  --server TEXT      only the servers whose name contains TEXT (repeatable): e.g. an
                     --instructions A/B of one Skitai server before and after a change
  --force            run a named scenario whose feature has not landed (its baselines only)
  --list             list the scenarios and exit
`;

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = { short: false, names: [], tool: null, profile: false, updateMd: false, install: true };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const num = () => {
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v <= 0) die(`${a} needs a positive number`);
    return v;
  };
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
  else if (a === '--profile-all') {
    opt.profile = true;
    opt.profileAll = true;
  } else if (a === '--update-md') opt.updateMd = true;
  else if (a === '--instructions') opt.instructions = true;
  else if (a === '--report') opt.report = true;
  else if (a === '--check') opt.check = true;
  else if (a === '--tail') opt.tail = true;
  else if (a === '--cold-rounds') opt.coldRounds = num();
  else if (a === '--server') (opt.servers ??= []).push(argv[++i]);
  else if (a === '--requests') opt.requests = num();
  else if (a === '--jobs') opt.jobs = num();
  else if (a === '--repeat') opt.repeat = num();
  else if (a === '--no-install') opt.install = false;
  else if (a === '--force') opt.force = true;
  else if (a === '--no-snapshot') opt.snapshot = false;
  else if (a === '--node-flags')
    opt.nodeFlags = String(argv[++i] ?? '')
      .split(' ')
      .filter(Boolean);
  else if (a === '--no-functions') opt.functions = false;
  else if (a === '--list') {
    for (const s of scenarios) console.log(`${s.name.padEnd(10)} ${s.title}`);
    process.exit(0);
  } else if (a === '-h' || a === '--help') {
    console.log(HELP);
    process.exit(0);
  } else if (a.startsWith('-')) die(`unknown option ${a}\n\n${HELP}`);
  else opt.names.push(a);
}
// 6 rounds x 3 s: the full run of every scenario stays under 25 minutes (see BENCHMARKS.md)
opt.rounds ??= opt.short ? 2 : 6;
opt.duration ??= 3;
opt.warmup ??= opt.short ? 1 : 2;
opt.coldRounds ??= opt.short ? 3 : 10;
// --instructions spreads its requests over --connections only when it is given (default one).
opt.instructionConnections = opt.connections ?? 1;
opt.connections ??= 100;
opt.idleCount ??= 10000;
opt.idleRounds = opt.short ? 1 : 2;
opt.retries ??= opt.short ? 0 : 2;
opt.snapshot ??= true;
opt.quietWait ??= opt.short || opt.nice < 0 ? 0 : 20;
// 3000 + 3000: the whole --instructions run stays under 12 minutes on a quiet machine
opt.requests ??= opt.short ? 1000 : 3000;
opt.warmupRequests = opt.requests;
opt.jobs ??= 2;
opt.repeat ??= 1;
opt.functions ??= true;
if (opt.instructions && opt.profile) die('--instructions and --profile are two different modes: choose one');

function die(msg) {
  console.error(msg);
  process.exit(2);
}
const log = (...a) => console.error(...a);

if (opt.report) {
  process.exit(
    printReport({
      resultsDir: path.join(BENCH_DIR, 'results'),
      benchmarksMd: path.join(ROOT, 'BENCHMARKS.md'),
      update: opt.updateMd,
      log,
      scenarios: scenarios.map((s) => s.name),
    }),
  );
}

for (const n of opt.names)
  if (!scenarios.some((s) => s.name === n))
    die(`unknown scenario "${n}"; known: ${scenarios.map((s) => s.name).join(', ')}`);
let selected = opt.names.length ? scenarios.filter((s) => opt.names.includes(s.name)) : scenarios;
if (opt.servers) {
  selected = selected
    .map((sc) => ({ ...sc, servers: sc.servers.filter((srv) => opt.servers.some((t) => srv.id.includes(t))) }))
    .filter((sc) => sc.servers.length);
  if (!selected.length) die(`no server of these scenarios matches ${opt.servers.join(', ')}`);
}

// ---------------------------------------------------------------- tools
const isRoot = process.getuid?.() === 0;
function aptInstall(pkgs) {
  if (!isRoot || !opt.install || spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0)
    return false;
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
    die(
      isRoot && opt.install
        ? 'valgrind could not be installed: apt-get update && apt-get install -y valgrind'
        : `valgrind is not installed: ${isRoot ? '' : 'as root, '}apt-get install -y valgrind${opt.install ? '' : ' (or run without --no-install as root)'}`,
    );
  }
} else {
  const needNginx = selected.some((s) => s.name.startsWith('static') || s.name === 'proxy');
  const missing = [];
  if (!wrkAvailable() && opt.tool !== 'autocannon') missing.push('wrk');
  if (needNginx && !nginxBinary()) missing.push('nginx');
  if (!tasksetAvailable()) missing.push('util-linux');
  if (selected.some((s) => s.loader === 'h2load' || latencyPass(s)) && !h2loadAvailable())
    missing.push('nghttp2-client');
  if (missing.length) aptInstall(missing);
}

let tool = opt.instructions ? 'valgrind' : opt.tool || (wrkAvailable() ? 'wrk' : 'autocannon');
if (tool === 'wrk' && !wrkAvailable()) die('wrk is not installed: apt-get install -y wrk (or --tool autocannon)');
if (tool === 'autocannon' && !autocannonPath()) die('autocannon is not installed (root devDependency): npm install');
if (!opt.tool && tool === 'autocannon')
  log(
    'note: wrk is not installed (apt-get install -y wrk); using autocannon, which is slower and may bound the fastest servers',
  );
if (!tasksetAvailable() && !opt.instructions)
  log('WARNING: taskset is missing (apt-get install -y util-linux): servers and load generator are NOT pinned');

const nginx = nginxBinary();
const nginxMissing = 'nginx is not installed: apt-get install -y nginx (Debian) to get the nginx baseline';

// kernel build freshness
function newest(dir, ext) {
  let t = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext))
      t = Math.max(t, fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return t;
}
const kernelDist = path.join(ROOT, 'kernel', 'dist', 'src', 'index.js');
if (!fs.existsSync(kernelDist))
  log('note: @skitai/kernel is not built (kernel/dist missing): run `npx tsc -b`; Skitai servers will be skipped');
else if (
  newest(path.join(ROOT, 'kernel', 'src'), '.ts') >
  newest(path.join(ROOT, 'kernel', 'dist', 'src'), '.js') + 1000
) {
  log('WARNING: kernel/src is newer than kernel/dist: run `npx tsc -b` to measure the current code');
}

// ---------------------------------------------------------------- one run at a time
// Two runs at once would disturb each other's numbers and share the package snapshot.
// (--check measures nothing and imports the live build: it may run beside a run.)
if (opt.check) opt.snapshot = false;
else {
  const lock = path.join(BENCH_DIR, '.run.lock');
  const take = () => {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
  };
  try {
    take();
  } catch {
    const other = Number(fs.readFileSync(lock, 'utf8')) || 0;
    let alive = false;
    try {
      if (other) {
        process.kill(other, 0);
        alive = true;
      }
    } catch {
      /* gone */
    }
    if (alive)
      die(`another bench run is going on (pid ${other}): runs at the same time disturb each other; wait for it to end`);
    fs.rmSync(lock, { force: true });
    take();
  }
  process.on('exit', () => {
    try {
      if (fs.readFileSync(lock, 'utf8') === String(process.pid)) fs.rmSync(lock);
    } catch {
      /* gone */
    }
  });
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
// The one-file entries are made from the compiled files: remake those a build left stale.
await ensurePackageEntries();
if (opt.snapshot) {
  const names = snapshotPackages();
  log(`measuring a snapshot of the built packages (bench/node_modules/@skitai: ${names.join(', ')})`);
  process.on('exit', () => {
    try {
      fs.rmSync(path.join(BENCH_DIR, 'node_modules'), { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  });
}

// ---------------------------------------------------------------- fixtures
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-bench-'));
const staticRoot = path.join(tmp, 'www');
const staticDir = path.join(staticRoot, 'static');
fs.mkdirSync(staticDir, { recursive: true });
fs.writeFileSync(path.join(staticDir, 'file-1k.bin'), crypto.randomBytes(1024));
fs.writeFileSync(path.join(staticDir, 'file-1m.bin'), crypto.randomBytes(1024 * 1024));
// just over the kernel's memory cache limit (memoryFileSize, 1 MiB): served from disk
fs.writeFileSync(path.join(staticDir, 'file-1m-over.bin'), crypto.randomBytes(1024 * 1024 + 1024));
fs.chmodSync(tmp, 0o755);
process.on('exit', () => {
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
});

if (opt.nice) {
  setNice(opt.nice);
  // With autogroup scheduling (Linux, sched_autogroup_enabled), nice only orders processes
  // within one session's group: set the group's nice too, and put it back at exit.
  try {
    const before = /nice\s+(-?\d+)/.exec(fs.readFileSync('/proc/self/autogroup', 'utf8'))?.[1];
    fs.writeFileSync('/proc/self/autogroup', String(opt.nice));
    if (before !== undefined)
      process.on('exit', () => {
        try {
          fs.writeFileSync('/proc/self/autogroup', before);
        } catch {
          /* best effort */
        }
      });
  } catch {
    /* no autogroup, or not allowed */
  }
}
const SERVER_CPUS = '0';
const LOAD_CPUS = '1';
// A self-signed certificate for the TLS scenarios, made on first use.
let tlsPair;
function tlsFiles() {
  if (!tlsPair) {
    try {
      const made = selfSignedCert(path.join(tmp, 'tls'));
      tlsPair = { cert: made.certFile, key: made.keyFile };
    } catch (err) {
      die(`the TLS scenarios need a certificate: ${err.message}`);
    }
  }
  return tlsPair;
}
const ctx = {
  tmp,
  staticRoot,
  staticDir,
  nginx,
  nginxMissing,
  nodeFlags: opt.nodeFlags ?? [],
  tlsCert: () => tlsFiles().cert,
  tlsKey: () => tlsFiles().key,
};

// ---------------------------------------------------------------- helpers
/**
 * A scenario with a p99 target measures its latency in a second run per round: h2load over
 * HTTP/1.1, the same connections and duration, every request's time from its per-request log.
 * wrk's own p99 (kept in the table) adds coordinated-omission samples: a latency of at least
 * twice the expected interval is recorded again at every interval below it, so the first
 * requests of the connections node accepts one per event-loop turn make its tail
 * (BENCHMARKS.md, "Latency").
 */
function latencyPass(sc) {
  return !sc.loader && (sc.targets || []).some((t) => t.metric === 'p99');
}

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

/** One GET over a keep-alive connection: null when the check passes (the head kept in `keep.head`). */
async function verify(port, p, check, timeoutMs = 5000, keep = {}) {
  try {
    const r = await getHead(port, p, timeoutMs);
    if (!check(r.status, r.body))
      return `unexpected response to GET ${p}: ${r.status} ${r.body.length} bytes ${JSON.stringify(r.body.subarray(0, 80).toString())}`;
    keep.head = r;
    return null;
  } catch (e) {
    return `GET ${p} failed: ${e.message}`;
  }
}

/** One h2c request (prior knowledge): null when it answers 200 'Hello World'. */
function verifyH2(port, p, scheme = 'http', keep = {}) {
  return new Promise((resolve) => {
    // The TLS scenarios' certificate is self-signed for the run.
    const session = http2.connect(`${scheme}://127.0.0.1:${port}`, { rejectUnauthorized: false });
    const t = setTimeout(() => {
      session.destroy();
      resolve('no HTTP/2 answer in 5 s');
    }, 5000);
    const done = (v) => {
      clearTimeout(t);
      session.close();
      resolve(v);
    };
    session.on('error', (e) => done(`HTTP/2 (h2c) failed: ${e.message}`));
    const req = session.request({ ':path': p });
    let status = 0,
      body = '',
      headers = [];
    req.on('response', (h) => {
      status = h[':status'];
      headers = Object.entries(h)
        .filter(([n]) => !n.startsWith(':'))
        .map(([n, v]) => [n, String(v)]);
    });
    req.setEncoding('utf8');
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      keep.head = { status, headers, body: Buffer.from(body) };
      done(
        status === 200 && body === 'Hello World'
          ? null
          : `HTTP/2 answer ${status} ${JSON.stringify(body.slice(0, 80))}`,
      );
    });
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
  if (lo.wrap) {
    spec = lo.wrap(spec);
    if (spec.skip) return spec;
  }
  const h = await startServer({
    name: srv.id,
    cpus,
    openFiles: sc.kind === 'idle',
    ...spec,
    ...(lo.readyTimeoutMs ? { timeoutMs: lo.readyTimeoutMs } : {}),
  });
  if (h.skip || h.error) return h;
  if (sc.requireWorkers && srv.workers > 1) {
    await sleep(1500);
    const n = h.tree().length;
    if (n < 2) {
      await h.stop();
      return {
        skip: `the kernel does not fork workers yet (kernel.start({ workers: ${srv.workers} }) left 1 process)`,
      };
    }
  }
  try {
    await waitForPort(h.port, 10000);
  } catch {
    /* verify says why */
  }
  // A server whose measured answers come after a first one (a cache's HITs): the head checked
  // and compared is one of those.
  if (!lo.verify && srv.primed)
    await getHead(h.port, sc.path, lo.checkTimeoutMs).catch(() => {
      /* verify says why */
    });
  const bad = lo.verify
    ? await lo.verify(h)
    : sc.loader === 'ws-echo'
      ? await wsLoad({
          url: `ws://127.0.0.1:${h.port}${sc.path}`,
          seconds: 1,
          connections: 1,
          cpus: null,
          check: true,
        }).catch((e) => e.message)
      : sc.loader === 'h2load'
        ? await verifyH2(h.port, sc.path, sc.scheme, h)
        : await verify(h.port, sc.path, sc.check, lo.checkTimeoutMs, h);
  if (bad) {
    await h.stop();
    return { error: `${srv.id}: ${bad}` };
  }
  return h;
}

/**
 * The like-for-like check: every target's two servers must have answered the first request
 * with the same status, headers (but Date, and what the scenario's sameHead.ignore names) and
 * body. heads: server id -> head. Returns why not, or null. WebSocket scenarios compare the
 * echoed messages (their client's check), not the upgrade's head.
 */
function notLikeForLike(sc, heads) {
  if (sc.loader === 'ws-echo' || sc.kind === 'cold') return null;
  const why = [];
  const seen = new Set();
  for (const t of sc.targets || []) {
    const key = `${t.server}\n${t.vs}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const a = heads.get(t.server),
      b = heads.get(t.vs);
    if (!a || !b) continue; // one of them is not running: that row says why
    const d = headDiff(a, b, sc.sameHead?.ignore);
    if (d) why.push(`${t.server} vs ${t.vs}: ${d}`);
  }
  return why.length ? why.join(' | ') : null;
}

/** What the like-for-like check leaves out of a scenario, for its notes. */
function sameHeadNote(sc) {
  const ig = Object.entries(sc.sameHead?.ignore || {});
  return ig.length ? `same status, headers and body but Date${ig.map(([n, why]) => `, ${n} (${why})`).join('')}` : null;
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
  log(
    `    (the machine stayed busy, ${busy.toFixed(0)}% of 2 cores used by other processes, for ${opt.quietWait} s: measuring anyway)`,
  );
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
    backend = await launch(
      { ...sc, path: sc.backend.path, check: sc.check, requireWorkers: false },
      sc.backend,
      sc.backend.cpus,
    );
    if (backend.skip || backend.error)
      return { rows: [], skip: `backend: ${backend.skip || backend.error}`, connections };
    ctx.backendUrl = `http://127.0.0.1:${backend.port}${sc.backend.path}`;
  }
  const url = (h) => `${sc.scheme ?? 'http'}://127.0.0.1:${h.port}${sc.path}`;
  try {
    for (const srv of sc.servers) {
      const h = await launch(sc, srv, cpus);
      const row = {
        scenario: sc.name,
        server: srv.id,
        runs: [],
        note: h.skip || h.error || null,
        skipped: !!h.skip,
        failed: !!h.error,
      };
      rows.push(row);
      if (h.skip) log(`  ${srv.id}: skipped: ${h.skip}`);
      else if (h.error) log(`  ${srv.id}: FAILED: ${h.error}`);
      else {
        handles.push({ row, h });
        // Each server is warmed up as soon as it answers, not after the others have started:
        // a node process left idle for more than ~8 s after its first few requests gets a
        // full GC from V8's memory reducer, which can leave node's process.nextTick on a slow
        // path for good (~10 % of a hello server's CPU). Warmed up last, the last server of a
        // scenario waited longest and was the one it hit (BENCHMARKS.md, "The order of the
        // warm-ups").
        log(`  warm-up ${row.server} (${opt.warmup} s)`);
        try {
          await load({ url: url(h), seconds: opt.warmup, connections, cpus: loadCpus, tool });
        } catch (e) {
          for (const { h: started } of handles) await started.stop();
          throw e;
        }
      }
    }
    if (sc.requireWorkers && rows.some((r) => r.skipped)) {
      for (const { h } of handles) await h.stop();
      return { rows: [], skip: rows.find((r) => r.skipped).note, connections };
    }
    const differ = notLikeForLike(
      sc,
      new Map(handles.filter(({ h }) => h.head).map(({ row, h }) => [row.server, h.head])),
    );
    if (differ) {
      for (const { h } of handles) await h.stop();
      log(`  FAILED: NOT LIKE-FOR-LIKE: ${differ}`);
      return { rows: [], skip: `FAILED, not like-for-like: ${differ}`, failed: true, connections };
    }
    try {
      for (let r = 0; r < opt.rounds; r++) {
        // A B C, C B A, A B C ...: interleaved, and no server always runs first or last.
        const order = r % 2 === 0 ? handles : [...handles].reverse();
        for (const { row, h } of order) {
          let res;
          for (let attempt = 0; attempt <= opt.retries; attempt++) {
            await quiet();
            const cpu0 = h.cpu(),
              d0 = h.cpuDetail(),
              w0 = h.waited(),
              t0 = performance.now(),
              st0 = cpuStat();
            const x = await load({ url: url(h), seconds: opt.duration, connections, cpus: loadCpus, tool });
            const st1 = cpuStat();
            const wall = (performance.now() - t0) / 1000;
            x.cpuPct = (100 * (h.cpu() - cpu0)) / wall;
            const d1 = h.cpuDetail();
            // Per request: the server's user and system CPU time (µs), the part of it on threads
            // other than the main one, and its minor page faults (per 1,000 requests).
            if (x.total > 0) {
              x.userUs = ((d1.user - d0.user) * 1e6) / x.total;
              x.sysUs = ((d1.sys - d0.sys) * 1e6) / x.total;
              x.helperUs = ((d1.helpers - d0.helpers) * 1e6) / x.total;
              x.faultsPerK = ((d1.minflt - d0.minflt) * 1000) / x.total;
            }
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
            log(
              `    (the server waited for a CPU ${x.waitPct.toFixed(0)}% of the run: ${attempt < opt.retries ? 'again' : 'kept the least disturbed run'})`,
            );
          }
          res.rpcs = res.rps / (res.cpuPct / 100);
          if (latencyPass(sc) && h2loadAvailable()) {
            await quiet();
            const lat = await h2Load({ url: url(h), seconds: opt.duration, connections, cpus: loadCpus, h1: true });
            res.reqP99ms = lat.p99ms;
            res.reqP50ms = lat.p50ms;
            log(
              `  round ${r + 1}/${opt.rounds} ${row.server.padEnd(24)} per request (h2load): p50 ${lat.p50ms.toFixed(2)} ms, p99 ${lat.p99ms.toFixed(2)} ms, max ${lat.maxMs.toFixed(1)} ms, ${lat.rps.toFixed(0)} req/s`,
            );
          }
          row.runs.push(res);
          const bad = res.errors || res.non2xx ? `  (errors ${res.errors}, non-2xx ${res.non2xx})` : '';
          log(
            `  round ${r + 1}/${opt.rounds} ${row.server.padEnd(24)} ${res.rps.toFixed(0).padStart(7)} req/s  p99 ${res.p99ms.toFixed(2)} ms  server ${res.cpuPct.toFixed(0)}% CPU (waited ${res.waitPct.toFixed(0)}%${res.userUs === undefined ? '' : `; per request user ${res.userUs.toFixed(1)} µs, system ${res.sysUs.toFixed(1)} µs, other threads ${res.helperUs.toFixed(1)} µs, ${res.faultsPerK.toFixed(0)} faults per 1k`}), server core ${res.serverCorePct.toFixed(0)}% busy (other tasks ${res.otherPct.toFixed(0)}%, irq ${res.irqPct.toFixed(0)}%, steal ${res.stealPct.toFixed(0)}%), ${sc.loader || tool} ${res.loadCpuPct.toFixed(0)}% CPU, load core ${res.loadCorePct.toFixed(0)}% busy${bad}`,
          );
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
    if (row.runs.length && row.runs.every((x) => x.reqP99ms !== undefined))
      row.reqP99ms = median(row.runs.map((x) => x.reqP99ms));
    row.cpuPct = median(row.runs.map((x) => x.cpuPct));
    row.loadCpuPct = median(row.runs.map((x) => x.loadCpuPct));
    row.otherPct = median(row.runs.map((x) => x.otherPct));
    row.waitPct = median(row.runs.map((x) => x.waitPct));
    for (const k of ['userUs', 'sysUs', 'helperUs', 'faultsPerK'])
      if (row.runs.every((x) => x[k] !== undefined)) row[k] = median(row.runs.map((x) => x[k]));
    row.rpcs = median(row.runs.map((x) => x.rpcs));
    const notes = [];
    if (row.loadCpuPct > 90 && row.cpuPct < 85)
      notes.push(`${sc.loader || tool} at ${row.loadCpuPct.toFixed(0)}% CPU: bound by the load generator`);
    if (row.waitPct > 10)
      notes.push(`the server waited for a CPU ${row.waitPct.toFixed(0)}% of the time (other load, or its own threads)`);
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
      if (i >= 0) {
        clearTimeout(t);
        try {
          resolve(JSON.parse(buf.slice(0, i)));
        } catch (e) {
          resolve({ error: e.message });
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ error: `idle client exited (${code})` });
    });
  });
  const stop = () =>
    new Promise((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', r);
      child.kill('SIGTERM');
      setTimeout(() => {
        try {
          child.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000).unref();
    });
  return { first, stop };
}

async function runIdle(sc) {
  const rows = sc.servers.map((srv) => ({ scenario: sc.name, server: srv.id, runs: [], note: null }));
  for (let r = 0; r < opt.idleRounds; r++) {
    for (let i = 0; i < sc.servers.length; i++) {
      const srv = sc.servers[i],
        row = rows[i];
      if (row.skipped || (row.failed && r > 0)) continue;
      const h = await launch(sc, srv, SERVER_CPUS);
      if (h.skip || h.error) {
        row.note = h.skip || h.error;
        row.skipped = !!h.skip;
        row.failed = !!h.error;
        log(`  ${srv.id}: ${h.skip ? 'skipped' : 'FAILED'}: ${row.note}`);
        continue;
      }
      if (r === 0 && h.head) row.head = h.head;
      try {
        const before = h.memory();
        const client = startClient(h.port, opt.idleCount);
        const rep = await client.first;
        await sleep(1000);
        const mem = h.memory();
        const stillOk = await verify(h.port, sc.path, sc.check);
        await client.stop();
        if (rep.error) {
          row.note = rep.error;
          row.failed = true;
          log(`  ${srv.id}: FAILED: ${rep.error}`);
          continue;
        }
        row.runs.push({
          open: rep.open,
          failed: rep.failed,
          ms: rep.ms,
          idleKiB: before.rssKiB,
          rssKiB: mem.rssKiB,
          hwmKiB: mem.hwmKiB,
          servingAfter: !stillOk,
        });
        log(
          `  round ${r + 1}/${opt.idleRounds} ${srv.id.padEnd(24)} open ${rep.open} (failed ${rep.failed}, ${rep.ms} ms)  RSS ${(before.rssKiB / 1024).toFixed(1)} -> ${(mem.rssKiB / 1024).toFixed(1)} MiB, peak ${(mem.hwmKiB / 1024).toFixed(1)} MiB${stillOk ? '  still serving: NO ' + stillOk : ''}`,
        );
      } finally {
        await h.stop();
      }
    }
  }
  const differ = notLikeForLike(sc, new Map(rows.filter((r) => r.head).map((r) => [r.server, r.head])));
  for (const row of rows) delete row.head;
  if (differ) {
    log(`  FAILED: NOT LIKE-FOR-LIKE: ${differ}`);
    return { rows: [], skip: `FAILED, not like-for-like: ${differ}`, failed: true };
  }
  for (const row of rows) {
    row.rssKiB = median(row.runs.map((x) => x.rssKiB));
    row.peakKiB = median(row.runs.map((x) => x.hwmKiB));
    row.perConnB = median(row.runs.map((x) => ((x.rssKiB - x.idleKiB) * 1024) / Math.max(1, x.open)));
    const opened = Math.min(...row.runs.map((x) => x.open));
    const failed = Math.max(0, ...row.runs.map((x) => x.failed));
    if (row.runs.length)
      row.note = `RSS with ${opened} idle connections open${failed ? ` (${failed} failed)` : ''}; ~${(row.perConnB / 1024).toFixed(1)} KiB/conn over the idle server`;
  }
  return { rows };
}

// ---------------------------------------------------------------- profiling
async function runProfile(sc) {
  let backend;
  if (sc.backend) {
    backend = await launch({ ...sc, path: sc.backend.path, requireWorkers: false }, sc.backend, sc.backend.cpus);
    if (backend.skip || backend.error) {
      log(`  backend: ${backend.skip || backend.error}`);
      return [];
    }
    ctx.backendUrl = `http://127.0.0.1:${backend.port}${sc.backend.path}`;
  }
  try {
    return await profileServers(sc);
  } finally {
    if (backend) await backend.stop();
  }
}

async function profileServers(sc) {
  const load = loadFor(sc);
  const dir = path.join(BENCH_DIR, 'profiles');
  fs.mkdirSync(dir, { recursive: true });
  const out = [];
  for (const srv of sc.servers.filter((s) => s.subject || opt.profileAll)) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const pdir = path.join(dir, `${sc.name}-${srv.id.replace(/[^a-z0-9]+/gi, '_')}-${stamp}`);
    const h = await launch(sc, srv, sc.serverCpus || SERVER_CPUS, {
      nodeFlags: ['--cpu-prof', '--cpu-prof-dir', pdir],
    });
    if (h.skip || h.error) {
      log(`  ${srv.id}: ${h.skip || h.error}`);
      continue;
    }
    if (!h.child.spawnargs.includes('--cpu-prof')) {
      await h.stop();
      continue;
    }
    const connections = sc.connections || opt.connections;
    await load({
      url: `http://127.0.0.1:${h.port}${sc.path}`,
      seconds: opt.warmup,
      connections,
      cpus: LOAD_CPUS,
      tool,
    });
    const res = await load({
      url: `http://127.0.0.1:${h.port}${sc.path}`,
      seconds: opt.duration,
      connections,
      cpus: LOAD_CPUS,
      tool,
    });
    await h.stop();
    const files = fs.existsSync(pdir) ? fs.readdirSync(pdir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (!files.length) {
      log(`  ${srv.id}: no profile written in ${pdir}`);
      continue;
    }
    const summary = summarizeProfile(path.join(pdir, files[0]), { root: ROOT + '/' });
    const text = `# ${sc.name} / ${srv.id}: ${res.rps.toFixed(0)} req/s under --cpu-prof (${opt.duration} s, ${connections} connections)\n${summary}\n`;
    fs.writeFileSync(path.join(pdir, 'summary.txt'), text);
    out.push(text);
    console.log(text);
  }
  return out;
}

// ---------------------------------------------------------------- cold start scenario
/** Each server started opt.coldRounds times, in alternating order; medians of the starts. */
async function runCold(sc) {
  const rows = sc.servers.map((srv) => ({ scenario: sc.name, server: srv.id, runs: [], note: null }));
  for (let r = 0; r < opt.coldRounds; r++) {
    const order = sc.servers.map((srv, i) => [srv, rows[i]]);
    if (r % 2) order.reverse();
    for (const [srv, row] of order) {
      if (row.failed || row.skipped) continue;
      await quiet();
      const port = await freePort();
      const spec = srv.spec(ctx, port);
      if (spec.skip) {
        row.skipped = true;
        row.note = spec.skip;
        continue;
      }
      const x = await coldStart(spec, { cpus: SERVER_CPUS, path: srv.path ?? sc.path });
      if (x.error) {
        row.failed = true;
        row.note = x.error;
        log(`  ${srv.id}: FAILED: ${x.error}`);
        continue;
      }
      row.runs.push(x);
      log(
        `  start ${r + 1}/${opt.coldRounds} ${srv.id.padEnd(28)} first 200 after ${x.startMs.toFixed(0)} ms, RSS ${(x.rssKiB / 1024).toFixed(1)} MiB`,
      );
    }
  }
  for (const row of rows) {
    if (!row.runs.length) continue;
    row.startMs = median(row.runs.map((x) => x.startMs));
    row.rssKiB = median(row.runs.map((x) => x.rssKiB));
    const t = row.runs.map((x) => x.startMs);
    row.note = `first 200 after ${row.startMs.toFixed(0)} ms (median of ${t.length} starts, ${Math.min(...t).toFixed(0)}-${Math.max(...t).toFixed(0)}); RSS then ${(row.rssKiB / 1024).toFixed(1)} MiB; ratio = start time (lower is better)`;
  }
  return { rows };
}

// ---------------------------------------------------------------- --check
/** Start each server, print its first answer's head and each target's like-for-like verdict. */
async function runCheck(sc) {
  let backend;
  if (sc.backend) {
    backend = await launch({ ...sc, path: sc.backend.path, requireWorkers: false }, sc.backend, sc.backend.cpus);
    if (backend.skip || backend.error) {
      log(`  backend: ${backend.skip || backend.error}`);
      return false;
    }
    ctx.backendUrl = `http://127.0.0.1:${backend.port}${sc.backend.path}`;
  }
  try {
    return await checkServers(sc);
  } finally {
    if (backend) await backend.stop();
  }
}

async function checkServers(sc) {
  const heads = new Map();
  let failed = false;
  for (const srv of sc.servers) {
    if (sc.kind === 'cold') break;
    const h = await launch(sc, srv, SERVER_CPUS);
    if (h.skip || h.error) {
      log(`  ${srv.id}: ${h.skip ? 'skipped' : 'FAILED'}: ${h.skip || h.error}`);
      failed ||= !!h.error;
      continue;
    }
    if (h.head) {
      heads.set(srv.id, h.head);
      console.log(`--- ${sc.name} / ${srv.id}\n${headText(h.head)}`);
    } else console.log(`--- ${sc.name} / ${srv.id}: checked (${sc.loader || 'http'}), no HTTP/1.1 head to show`);
    await h.stop();
  }
  const differ = notLikeForLike(sc, heads);
  const ignored = sameHeadNote(sc);
  console.log(
    differ
      ? `${sc.name}: NOT LIKE-FOR-LIKE: ${differ}`
      : `${sc.name}: like-for-like${ignored ? ` (${ignored})` : ' (same status, headers but Date, and body)'} for every target`,
  );
  return !differ && !failed;
}

// ---------------------------------------------------------------- --tail
/**
 * What makes the tail: each node server of the scenario under one warm-up and one measured
 * load run, with bench/servers/tail-probe.mjs reporting its GC pauses and event-loop delay
 * for exactly the measured run.
 */
async function runTail(sc) {
  const load = loadFor(sc);
  const connections = sc.connections && !argv.includes('--connections') ? sc.connections : opt.connections;
  const out = [];
  for (const srv of sc.servers) {
    const h = await launch(sc, srv, sc.serverCpus || SERVER_CPUS, { nodeFlags: ['--import', tailModule] });
    if (h.skip || h.error) {
      log(`  ${srv.id}: ${h.skip || h.error}`);
      continue;
    }
    try {
      if (!h.child.spawnargs.includes(tailModule)) continue; // not a node process (nginx)
      const url = `${sc.scheme ?? 'http'}://127.0.0.1:${h.port}${sc.path}`;
      await load({ url, seconds: opt.warmup, connections, cpus: LOAD_CPUS, tool });
      await quiet();
      await readTail(h.pid); // starts the measured window
      const x = await load({ url, seconds: opt.duration, connections, cpus: LOAD_CPUS, tool });
      const t = await readTail(h.pid);
      if (!t) {
        log(`  ${srv.id}: no tail numbers from the server`);
        continue;
      }
      const gcShare = (100 * t.gc.totalMs) / (t.seconds * 1000);
      const line = [
        sc.name,
        srv.id,
        fmtRps(x.rps),
        fmtMs(x.p50ms),
        fmtMs(x.p99ms),
        fmtMs(t.loopDelay.p99Ms),
        fmtMs(t.loopDelay.maxMs),
        String(t.gc.count),
        String(t.gc.major),
        `${gcShare.toFixed(1)}`,
        fmtMs(t.gc.maxMs),
      ];
      out.push(line);
      log(`  ${srv.id}: ${line.slice(2).join('  ')}`);
    } finally {
      await h.stop();
    }
  }
  return out;
}
const TAIL_HEAD = [
  'scenario',
  'server',
  'req/s',
  'p50 ms',
  'p99 ms',
  'loop delay p99 ms',
  'loop delay max ms',
  'GCs',
  'major GCs',
  '% of time in GC',
  'longest GC ms',
];

// ---------------------------------------------------------------- table
const fmtRps = fmtInt;
const fmtMs = (v) => (Number.isFinite(v) ? v.toFixed(2) : '-');
const fmtMiB = (kib) => (Number.isFinite(kib) && kib > 0 ? (kib / 1024).toFixed(1) : '-');

function tableRows(results) {
  const lines = [];
  for (const { sc, res } of results) {
    if (res.skip) {
      lines.push([sc.name, '(skipped)', '-', '-', '-', '-', '-', '-', '-', res.skip]);
      continue;
    }
    const rss = sc.kind === 'idle',
      cold = sc.kind === 'cold';
    const val = (r) => (rss ? r.rssKiB : cold ? r.startMs : r.rps);
    const base = res.rows.find((r) => Number.isFinite(val(r)));
    const same = sameHeadNote(sc);
    for (const row of res.rows) {
      const ratio = !base ? NaN : val(row) / val(base);
      const note = [
        row === res.rows[0] ? same : '',
        row.note,
        row.errors ? `${row.errors} errors/non-2xx` : '',
        row.processes > 1 ? `${row.processes} processes` : '',
        row.reqP99ms !== undefined && !(rss || cold) ? `p99 per request (h2load) ${fmtMs(row.reqP99ms)} ms` : '',
      ]
        .filter(Boolean)
        .join('; ');
      lines.push([
        sc.name,
        row.server + (row === base ? ' (baseline)' : ''),
        rss || cold ? '-' : fmtRps(row.rps),
        rss || cold ? '-' : fmtMs(row.p99ms),
        fmtMiB(rss || cold ? row.rssKiB : row.peakKiB),
        fmtRatio(ratio),
        Number.isFinite(row.cpuPct) ? row.cpuPct.toFixed(0) : '-',
        rss || cold ? '-' : fmtRps(row.rpcs),
        rss || cold || !base ? '-' : fmtRatio(row.rpcs / base.rpcs),
        row.skipped ? `skipped: ${note}` : row.failed ? `FAILED: ${note}` : note,
      ]);
    }
  }
  return lines;
}

const HEAD = [
  'scenario',
  'server',
  'req/s (median)',
  'p99 ms',
  'peak RSS MiB',
  'ratio',
  'server CPU %',
  'req per CPU-s',
  'ratio per CPU-s',
  'notes',
];
const NUMERIC = (i) => i >= 2 && i <= 8;

/** What a target compares, per metric: the per-round value and its name. */
const METRIC = {
  rps: { of: (x) => x.rps, name: 'req/s' },
  // The per-request p99 where the scenario measured it (latencyPass), else wrk's.
  p99: { of: (x) => x.reqP99ms ?? x.p99ms, name: 'p99 latency' },
  rss: { of: (x) => x.rssKiB, name: 'RSS' },
  start: { of: (x) => x.startMs, name: 'time to the first 200' },
};

/**
 * One verdict rule for every target: the two servers ran within seconds of each other in each
 * round, so each round gives a ratio; the target is met only when BOTH the median of those
 * per-round ratios AND the ratio of the two medians meet it (the first cancels the slow
 * changes of the machine's speed, the second does not depend on how rounds pair up).
 * `--report` adds the instruction-count ratio of an --instructions run as a third measure.
 */
function verdicts(results) {
  const out = [];
  for (const { sc, res } of results) {
    for (const t of sc.targets || []) {
      const metric = t.metric || 'rps';
      const m = METRIC[metric];
      const want = t.min != null ? `>= ${t.min}` : `<= ${t.max}`;
      const meets = (r) => (t.min != null ? r >= t.min : r <= t.max);
      const v = {
        scenario: sc.name,
        server: t.server,
        vs: t.vs,
        metric,
        min: t.min,
        max: t.max,
        want,
        label: `${sc.name}: ${t.server} / ${t.vs} ${m.name}`,
      };
      out.push(v);
      if (res.skip || !res.rows?.length) {
        v.note = `not measured (${res.skip || 'skipped'})`;
        continue;
      }
      const a = res.rows.find((r) => r.server === t.server),
        b = res.rows.find((r) => r.server === t.vs);
      if (!a?.runs?.length || !b?.runs?.length) {
        v.note = `not measured (${a?.note || b?.note || 'no data'})`;
        continue;
      }
      const med = (row) => median(row.runs.map(m.of));
      v.rounds = a.runs.map((x, i) => m.of(x) / m.of(b.runs[i] ?? {})).filter(Number.isFinite);
      v.paired = v.rounds.length ? median(v.rounds) : NaN;
      v.ofMedians = med(a) / med(b);
      if (metric === 'rps' && Number.isFinite(a.rpcs / b.rpcs)) v.perCpu = a.rpcs / b.rpcs;
      v.met = Number.isFinite(v.paired) && Number.isFinite(v.ofMedians) && meets(v.paired) && meets(v.ofMedians);
    }
  }
  return out;
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  const mem = (os.totalmem() / 2 ** 30).toFixed(1);
  const wrkV =
    tool === 'wrk' ? (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout || '').split('\n')[0].split(' [')[0] : tool;
  return `${os.cpus().length} CPUs (${cpu}), ${mem} GiB RAM, Linux ${os.release()}, Node ${process.version}, ${wrkV}${nginx ? ', nginx ' + nginxVersion(nginx) : ''}`;
}

// ---------------------------------------------------------------- main
const started = new Date();
const gitHead = (() => {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'kernel/src', 'plugins'], {
    cwd: ROOT,
    encoding: 'utf8',
  }).stdout.trim();
  return r.stdout.trim() + (dirty ? ' + uncommitted kernel/plugin changes' : '');
})();
const loadavgAtStart = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
const cmdline = `npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}`;
log(`skitai bench: ${cmdline}`);
log(`  ${machine()}`);
if (!opt.instructions && !opt.check) {
  log(
    `  servers on CPU ${SERVER_CPUS}, ${tool} on CPU ${LOAD_CPUS}; ${opt.rounds} rounds x ${opt.duration} s, warm-up ${opt.warmup} s, ${opt.connections} connections`,
  );
  // What the run takes on a quiet machine (measured: ~1.5 s to start and check a server,
  // ~0.8 s around each load run; an idle round ~15 s per server; a cold start ~1 s).
  let sec = 0;
  for (const sc of selected) {
    const n = sc.servers.length;
    sec +=
      sc.kind === 'idle'
        ? opt.idleRounds * n * 15
        : sc.kind === 'cold'
          ? opt.coldRounds * n * 1
          : n * (1.5 + opt.warmup + opt.rounds * (opt.duration + 0.8));
  }
  if (!opt.profile && !opt.tail)
    log(
      `  about ${Math.ceil(sec / 60)} minutes on a quiet machine (more when runs are retried or the machine is busy)`,
    );
}

if (opt.instructions) {
  const code = await runInstructions({
    selected,
    opt,
    ctx,
    tmp,
    launch,
    log,
    gitHead,
    cmdline,
    valgrind,
    outDir: path.join(BENCH_DIR, 'results'),
    pending: async (sc) => (opt.force && opt.names.includes(sc.name) ? null : (await sc.pending?.()) || null),
  });
  process.exit(code);
}

const results = [];
const profiles = [];
const tails = [];
let checkFailed = false;
for (const sc of selected) {
  const pend = opt.force && opt.names.includes(sc.name) ? null : await sc.pending?.();
  if (sc.loader === 'h2load' && !pend && !h2loadAvailable()) {
    const m = 'h2load is not installed: apt-get install -y nghttp2-client';
    log(`\n[${sc.name}] skipped: ${m}`);
    results.push({ sc, res: { skip: m } });
    continue;
  }
  if (pend) {
    log(`\n[${sc.name}] ${sc.title}: skipped: ${pend}`);
    results.push({ sc, res: { skip: pend } });
    continue;
  }
  log(`\n[${sc.name}] ${sc.title}`);
  try {
    if (opt.profile) {
      if (sc.kind !== 'idle' && sc.kind !== 'cold') profiles.push(...(await runProfile(sc)));
      continue;
    }
    if (opt.check) {
      if (!(await runCheck(sc))) checkFailed = true;
      continue;
    }
    if (opt.tail) {
      if (sc.kind !== 'idle' && sc.kind !== 'cold' && !sc.requireWorkers) tails.push(...(await runTail(sc)));
      continue;
    }
    const res =
      sc.kind === 'idle' ? await runIdle(sc) : sc.kind === 'cold' ? await runCold(sc) : await runThroughput(sc);
    if (res.skip) log(`  skipped: ${res.skip}`);
    results.push({ sc, res });
  } catch (e) {
    log(`  FAILED: ${e.stack || e.message}`);
    results.push({ sc, res: { skip: `failed: ${e.message.split('\n')[0]}` } });
  }
}
if (opt.profile) process.exit(0);
if (opt.check) process.exit(checkFailed ? 1 : 0);
if (opt.tail) {
  console.log('\n' + textTable(TAIL_HEAD, (i) => i >= 2, tails));
  console.log('\n' + markdownTable(TAIL_HEAD, (i) => i >= 2, tails));
  process.exit(0);
}

const lines = tableRows(results);
const verdictList = verdicts(results);
const targets = verdictList.map(verdictLine);
const finished = new Date();
const header = `${finished.toISOString().slice(0, 16).replace('T', ' ')} UTC, \`${cmdline}\` at commit ${gitHead}, ${tool}, ${opt.rounds} interleaved rounds x ${opt.duration} s (warm-up ${opt.warmup} s), ${opt.connections} connections (static-1m: 32), servers pinned to CPU ${SERVER_CPUS}, load to CPU ${LOAD_CPUS}${opt.nice ? `, nice ${opt.nice}` : ''}, load average at start ${loadavgAtStart}`;
console.log('\n' + header);
console.log(machine() + '\n');
console.log(textTable(HEAD, NUMERIC, lines));
console.log(
  '\ntargets:\n' + (targets.length ? targets.map((t) => '  ' + t).join('\n') : '  (none in these scenarios)'),
);

const md = [
  `Run: ${header}.`,
  '',
  `Machine: ${machine()}.`,
  '',
  markdownTable(HEAD, NUMERIC, lines),
  '',
  'Targets (ratios from this run):',
  '',
  ...targets.map((t) => `- ${t}`),
].join('\n');

const outDir = path.join(BENCH_DIR, 'results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'latest.md'), md + '\n');
fs.writeFileSync(
  path.join(outDir, 'latest.json'),
  JSON.stringify(
    {
      started: started.toISOString(),
      finished: finished.toISOString(),
      command: cmdline,
      tool,
      machine: machine(),
      options: opt,
      commit: gitHead,
      header,
      markdown: md,
      results: results.map(({ sc, res }) => ({
        scenario: sc.name,
        skip: res.skip,
        failed: !!res.failed,
        rows: res.rows,
      })),
      targets,
      verdicts: verdictList,
    },
    null,
    2,
  ) + '\n',
);
log(`\nwrote bench/results/latest.md and latest.json (${((finished - started) / 1000).toFixed(0)} s)`);

if (opt.updateMd)
  printReport({
    resultsDir: outDir,
    benchmarksMd: path.join(ROOT, 'BENCHMARKS.md'),
    update: true,
    log,
    scenarios: scenarios.map((s) => s.name),
  }) && log('could not write BENCHMARKS.md');
else log('the whole report with the last --instructions run and every verdict: npm run bench -- --report');
const failedScenarios = results.filter(({ res }) => res.failed).map(({ sc }) => sc.name);
if (failedScenarios.length) {
  log(`\nFAILED (not like-for-like): ${failedScenarios.join(', ')}`);
  process.exit(1);
}
