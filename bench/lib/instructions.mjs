// `npm run bench -- --instructions`: CPU instructions per request, counted by valgrind's
// callgrind, for every node-process server of the chosen scenarios.
//
// Why: on this shared 2-core VM wrk's req/s for one server moves up to 1.7x between rounds, so
// req/s ratios are good to about +-0.15. An instruction count hardly depends on what else the
// machine does: two runs of one server agree within ~0-2 % (a small part of the count grows
// with wall time: timers, GC idle work; and now and then a V8 JIT state adds ~7 % to one run,
// which --repeat N absorbs by keeping the lowest). `perf stat` is not available on the VM.
//
// How, per server (bench/servers/*.mjs, unchanged):
//   valgrind --tool=callgrind --instr-atstart=no ... node server.mjs ...   (start-up not counted)
//   the scenario's first-answer check (as in the req/s mode)
//   W warm-up requests over ONE keep-alive connection, strictly sequential
//   callgrind_control -i on; N requests on the same connection; callgrind_control -i off
//   SIGTERM; the `totals:` line of the callgrind file / N
// One connection, one request at a time: the server handles one request per event-loop turn.
// With 10 connections the number of requests per turn varied and the counts moved by 10 %.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { h2Client, httpClient, wsClient } from '../clients/sequential.mjs';
import { fmtInt, fmtRatio, markdownTable, textTable } from './table.mjs';
import { keepRunFiles, keptNames, takeProfile, targetProfiles, writeProfiles } from './profiles.mjs';

const READY_MS = 300_000; // a server not ready under valgrind in this time is failed (a loaded 2-core machine needs minutes)
const ANSWER_MS = 60_000; // no complete answer to one request in this time: failed
const CONTROL_MS = 60_000; // callgrind_control -i on/off
const EXIT_MS = 120_000; // SIGTERM to exit (callgrind writes its file at exit), then SIGKILL

/**
 * Fewer requests where one costs much more (a 1 MiB body through valgrind). A body streamed
 * from disk in chunks (@fastify/static here) costs what the timing of reads and drains makes
 * it: 2.8 M and 7.3 M instructions per request in two runs; bodies sent from memory repeat.
 */
const SCALE = { 'static-1m': 0.1 };

/** Scenarios this mode does not run, and why (one line each). */
export function notInThisMode(sc) {
  if (sc.kind === 'idle')
    return 'not run with --instructions: it measures memory with 10,000 idle connections, not work per request';
  if (sc.kind === 'cold') return 'not run with --instructions: it times process starts, not requests';
  if (sc.requireWorkers)
    return 'not run with --instructions: workers are about using a second core; instructions per request do not show that';
  return null;
}

export function valgrindAvailable() {
  const v = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  const c = spawnSync('sh', ['-c', 'command -v callgrind_control'], { encoding: 'utf8' });
  return !v.error && v.status === 0 && c.status === 0 ? v.stdout.trim() : null;
}

// ---------------------------------------------------------------- bounded helpers
// Each command in its own process group, killed with the group on a time limit and at exit.
const groups = new Set();
const killGroups = () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
};
process.on('exit', killGroups);

function runGroup(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    groups.add(child.pid);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.on('error', (e) => {
      out += e.message;
    });
    child.on('close', (code, sig) => {
      clearTimeout(t);
      groups.delete(child.pid);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* group already gone */
      }
      resolve({ code, sig, out: out.trim() });
    });
  });
}

/** A promise with a time limit: rejects with `what` when it runs out. */
function bounded(promise, ms, what, onTimeout) {
  let t;
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => {
      onTimeout?.();
      reject(new Error(what));
    }, ms);
  });
  return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

async function control(pid, prefix, onOff) {
  const r = await runGroup('callgrind_control', [`--vgdb-prefix=${prefix}`, '-i', onOff, String(pid)], CONTROL_MS);
  if (r.code !== 0 || /error|not found|no .*callgrind/i.test(r.out)) {
    throw new Error(
      `callgrind_control -i ${onOff} ${pid} failed (${r.code ?? r.sig}${r.code === null ? `, time limit ${CONTROL_MS / 1000} s` : ''}): ${r.out.slice(0, 300)}`,
    );
  }
}

/** The `totals:` line of a callgrind file (the `summary:` line is 0 with --instr-atstart=no). */
export function readTotals(file) {
  const text = fs.readFileSync(file, 'utf8');
  const m = /^totals:\s+(\d+)/m.exec(text);
  if (!m) throw new Error(`no totals: line in ${file}`);
  return Number(m[1]);
}

/**
 * N sequential clients used as one: run(n) spreads n requests over them (all at once, each one
 * request at a time), close() closes them all, reconnects is their sum.
 */
async function clientGroup(first, make, n) {
  const all = [first];
  for (let i = 1; i < n; i++) all.push(make());
  // each new connection answers one request before the warm-up (its set-up is not measured)
  try {
    await Promise.all(all.slice(1).map((x) => x.run(1)));
  } catch (e) {
    for (const x of all.slice(1)) x.close();
    throw e;
  }
  return {
    get reconnects() {
      return all.reduce((sum, x) => sum + x.reconnects, 0);
    },
    run(total) {
      return Promise.all(all.map((x, i) => x.run(Math.floor(total / n) + (i < total % n ? 1 : 0))));
    },
    close() {
      for (const x of all) x.close();
    },
  };
}

// ---------------------------------------------------------------- one server
async function measureServer({ sc, srv, deps, idx, requests, warmup }) {
  const { launch, tmp, log } = deps;
  const out = path.join(tmp, `callgrind-${sc.name}-${idx}.out`);
  const prefix = path.join(tmp, `vgdb-${sc.name}-${idx}`);
  const row = { scenario: sc.name, server: srv.id, note: null };
  const wrap = (spec) => {
    if (spec.cmd !== process.execPath) return { skip: 'not measured (not a node process)', notNode: true };
    return {
      ...spec,
      cmd: 'valgrind',
      args: [
        '--tool=callgrind',
        `--callgrind-out-file=${out}`,
        '--separate-threads=yes',
        '--smc-check=all-non-file',
        '--instr-atstart=no',
        `--vgdb-prefix=${prefix}`,
        spec.cmd,
        // JIT frames named in the per-function profiles (bench/lib/profiles.mjs)
        ...(deps.opt.functions ? ['--perf-basic-prof'] : []),
        ...spec.args,
      ],
    };
  };
  const isWs = sc.loader === 'ws-echo';
  const client = (port) =>
    isWs
      ? wsClient({ port, path: sc.path, timeoutMs: ANSWER_MS })
      : sc.loader === 'h2load'
        ? h2Client({ port, path: sc.path, check: sc.check, timeoutMs: ANSWER_MS, tls: sc.scheme === 'https' })
        : httpClient({ port, path: sc.path, check: sc.check, timeoutMs: ANSWER_MS });
  // The first-answer check of the req/s mode (status and body by the scenario's check; for the
  // WebSocket, one echo equal to what was sent), made on the connection that then carries the
  // warm-up and the measured requests: no other connection is ever opened. (A fetch() check
  // leaves an idle connection that the server closes 30 s later, in the middle of the measured
  // phase; a closed or new connection costs the server 100k+ instructions per request for
  // thousands of requests afterwards, V8 re-optimizing code, which is not what we measure.)
  // With --connections N: N such clients, each sequential, all running at once; the first is
  // the one checked, the others connect (and answer one request each) before the warm-up.
  const connections = Math.max(1, deps.opt.instructionConnections ?? 1);
  let c = null;
  const verifyOnItsConnection = async (hh) => {
    const first = client(hh.port);
    try {
      await first.run(1);
      c = connections === 1 ? first : await clientGroup(first, () => client(hh.port), connections);
      return null;
    } catch (e) {
      first.close();
      c = null;
      return `first answer: ${e.message}`;
    }
  };
  const t0 = performance.now();
  let h = null;
  try {
    h = await launch(sc, srv, null, {}, { wrap, readyTimeoutMs: READY_MS, verify: verifyOnItsConnection });
    if (h.skip || h.error) {
      const r = { ...row, note: h.skip || h.error, skipped: !!h.skip, failed: !!h.error, notNode: !!h.notNode };
      h = null;
      return r;
    }
    const tReady = performance.now();
    log(
      `  ${srv.id}: ready under valgrind after ${((tReady - t0) / 1000).toFixed(0)} s; ${warmup} warm-up + ${requests} measured ${unitOf(sc)}s over ${connections === 1 ? 'one connection' : `${connections} connections`}`,
    );
    const limit = (n) => Math.max(600_000, n * 200); // whole phase; each answer has ANSWER_MS too
    await bounded(c.run(warmup), limit(warmup), `warm-up of ${warmup} did not end in ${limit(warmup) / 1000} s`, () =>
      c.close(),
    );
    const tWarm = performance.now();
    await control(h.pid, prefix, 'on');
    const reconnectsBefore = c.reconnects;
    const tm0 = performance.now();
    await bounded(
      c.run(requests),
      limit(requests),
      `${requests} measured requests did not end in ${limit(requests) / 1000} s`,
      () => c.close(),
    );
    const tm1 = performance.now();
    await control(h.pid, prefix, 'off');
    const reconnected = c.reconnects - reconnectsBefore;
    c.close();
    c = null;
    // callgrind writes its file when the process exits
    const pid = h.pid;
    h.child.kill('SIGTERM');
    const exited = await Promise.race([h.exited.then(() => true), sleep(EXIT_MS).then(() => false)]);
    if (!exited) throw new Error(`did not exit within ${EXIT_MS / 1000} s of SIGTERM`);
    h = null;
    // One file per thread (out-01 is the main thread, where requests are served; the others
    // are V8's compiler and GC helper threads).
    const files = fs
      .readdirSync(tmp)
      .filter((f) => f.startsWith(`${path.basename(out)}-`))
      .map((f) => path.join(tmp, f))
      .sort();
    if (!files.length) throw new Error('valgrind wrote no callgrind file');
    const total = readTotals(files[0]);
    const allThreads = files.reduce((sum, f) => sum + readTotals(f), 0);
    const prof = deps.opt.functions ? keepProfile(deps, sc, srv, idx, files[0], pid) : null;
    for (const f of files) fs.rmSync(f, { force: true });
    const notes = [];
    if (reconnected)
      notes.push(
        `the server closed the idle connection after the warm-up: the measured ${unitOf(sc)}s include ${reconnected} new connection(s)`,
      );
    return {
      ...row,
      instructions: total,
      perRequest: total / requests,
      allThreadsPerRequest: allThreads / requests,
      requests,
      warmup,
      seconds: {
        start: (tReady - t0) / 1000,
        warmup: (tWarm - tReady) / 1000,
        measured: (tm1 - tm0) / 1000,
        total: (performance.now() - t0) / 1000,
      },
      note: notes.join('; ') || null,
      ...prof,
    };
  } catch (e) {
    const stderr = h
      ?.stderr?.()
      .trim()
      .split('\n')
      .filter((l) => !/^==\d+==/.test(l))
      .slice(-3)
      .join(' | ');
    return { ...row, failed: true, note: `${e.message}${stderr ? ` (server stderr: ${stderr})` : ''}` };
  } finally {
    c?.close();
    if (h) await h.stop(); // SIGTERM, SIGKILL after 5 s
    fs.rmSync(out, { force: true });
  }
}

/** The per-function profile of one run (--functions): its files kept, the perf map removed from /tmp. */
function keepProfile(deps, sc, srv, idx, mainThreadFile, pid) {
  const keep = keptNames(deps.profileDir, sc.name, `${srv.id}--run-${idx}`);
  try {
    const { profile, files } = takeProfile({ callgrindFile: mainThreadFile, pid, keep, root: deps.root });
    return { profile, profileFiles: files };
  } catch (e) {
    deps.log(`  ${srv.id}: no per-function profile: ${e.message}`);
    return null;
  } finally {
    fs.rmSync(`/tmp/perf-${pid}.map`, { force: true });
  }
}

/** Up to `jobs` servers of one scenario at a time (the counts do not depend on the load). */
async function measureScenario(sc, deps) {
  const { opt, log } = deps;
  const scale = SCALE[sc.name] ?? 1;
  const requests = Math.max(50, Math.round(opt.requests * scale));
  const warmup = Math.max(50, Math.round(opt.warmupRequests * scale));
  let backend;
  if (sc.backend) {
    backend = await deps.launch({ ...sc, path: sc.backend.path, requireWorkers: false }, sc.backend, sc.backend.cpus);
    if (backend.skip || backend.error) return { skip: `backend: ${backend.skip || backend.error}` };
    deps.ctx.backendUrl = `http://127.0.0.1:${backend.port}${sc.backend.path}`;
    log(`  backend (not under valgrind, not counted) on port ${backend.port}`);
  }
  try {
    // every server --repeat times, each run its own process; the row keeps the lowest count
    const tasks = [];
    for (let k = 0; k < opt.repeat; k++) sc.servers.forEach((srv, i) => tasks.push({ srv, i, k }));
    const runs = sc.servers.map(() => []);
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const { srv, i, k } = tasks[next++];
        if (k > 0 && runs[i].length && !runs[i].some((r) => Number.isFinite(r.perRequest))) continue; // skipped or failed once
        const r = await measureServer({ sc, srv, deps, idx: `${i}-${k}`, requests, warmup });
        runs[i].push(r);
        const of = opt.repeat > 1 ? ` (run ${k + 1}/${opt.repeat})` : '';
        if (Number.isFinite(r.perRequest))
          log(
            `  ${srv.id}${of}: ${fmtInt(r.perRequest)} instructions per ${unitOf(sc)} (start ${r.seconds.start.toFixed(0)} s, warm-up ${r.seconds.warmup.toFixed(0)} s, measured ${r.seconds.measured.toFixed(0)} s, ${r.seconds.total.toFixed(0)} s in all)`,
          );
        else log(`  ${srv.id}${of}: ${r.notNode ? '' : r.skipped ? 'skipped: ' : 'FAILED: '}${r.note}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opt.jobs) }, worker));
    const rows = runs.map((rs) => {
      const ok = rs.filter((r) => Number.isFinite(r.perRequest)).sort((a, b) => a.perRequest - b.perRequest);
      if (!ok.length) return rs[0];
      if (opt.functions) keepRunFiles(ok[0], rs, deps.profileDir, sc.name, ok[0].server);
      const row = { ...ok[0], runs: rs.map((r) => r.perRequest ?? null) };
      if (rs.length > 1) {
        const spread = (100 * (ok[ok.length - 1].perRequest - ok[0].perRequest)) / ok[0].perRequest;
        const counts = rs.map((r) => (Number.isFinite(r.perRequest) ? fmtInt(r.perRequest) : 'failed')).join(', ');
        row.note = [row.note, `lowest of ${rs.length} runs: ${counts} (spread ${spread.toFixed(1)} %)`]
          .filter(Boolean)
          .join('; ');
      }
      return row;
    });
    return { rows, requests, warmup };
  } finally {
    if (backend) await backend.stop();
  }
}

// ---------------------------------------------------------------- table
const unitOf = (sc) => (sc.loader === 'ws-echo' ? 'message' : 'request');
const HEAD = [
  'scenario',
  'server',
  'instructions per request (main thread)',
  'ratio (lower is better)',
  'all threads',
  'measured',
  'notes',
];
const NUMERIC = (i) => i === 2 || i === 3 || i === 4;

/** The ratio reference: the baseline (first server) when measured, else the first measured row. */
function reference(res) {
  const base = res.rows[0];
  if (Number.isFinite(base?.perRequest)) return { row: base, isBaseline: true };
  const first = res.rows.find((r) => Number.isFinite(r.perRequest));
  return first ? { row: first, isBaseline: false } : null;
}

function tableRows(results) {
  const lines = [];
  for (const { sc, res } of results) {
    if (res.skip) {
      lines.push([sc.name, '(skipped)', '-', '-', '-', '-', res.skip]);
      continue;
    }
    const ref = reference(res);
    res.rows.forEach((row, i) => {
      const ok = Number.isFinite(row.perRequest);
      let name = row.server;
      if (i === 0) name += ' (baseline)';
      if (ref && row === ref.row && !ref.isBaseline) name += ' (ratio reference)';
      let note = row.note || '';
      if (ref && row === ref.row && !ref.isBaseline)
        note = [note, `ratios against this row: the baseline (${res.rows[0].server}) is not measured`]
          .filter(Boolean)
          .join('; ');
      lines.push([
        sc.name,
        name,
        ok ? `${fmtInt(row.perRequest)}${sc.loader === 'ws-echo' ? ' /message' : ''}` : '-',
        ok && ref ? fmtRatio(row.perRequest / ref.row.perRequest) : '-',
        ok ? fmtInt(row.allThreadsPerRequest) : '-',
        ok ? `${fmtInt(row.requests)} ${unitOf(sc)}s` : '-',
        row.notNode ? note : row.skipped ? `skipped: ${note}` : row.failed ? `FAILED: ${note}` : note,
      ]);
    });
  }
  return lines;
}

/**
 * The scenarios' targets restated on instructions: a req/s target `>= m x baseline` becomes
 * `instructions <= baseline / m`, i.e. the instruction ratio must be <= 1/m.
 */
function targetLines(results, verdicts = []) {
  const out = [];
  for (const { sc, res } of results) {
    for (const t of sc.targets || []) {
      if ((t.metric && t.metric !== 'rps') || t.min == null) {
        out.push(
          `${sc.name}: ${t.server} / ${t.vs} ${t.metric ?? ''} [target <= ${t.max}]: not an instruction target (not measured in this mode)`,
        );
        continue;
      }
      const limit = 1 / t.min;
      const want = `instructions <= ${t.vs} / ${t.min}, i.e. ratio <= ${limit.toFixed(3)} (req/s target >= ${t.min} x)`;
      const label = `${sc.name}: ${t.server} / ${t.vs} instructions per ${unitOf(sc)}`;
      if (res.skip || !res.rows) {
        out.push(`${label}: not measured (${res.skip || 'skipped'}) [target ${want}]`);
        continue;
      }
      const a = res.rows.find((r) => r.server === t.server),
        b = res.rows.find((r) => r.server === t.vs);
      if (!Number.isFinite(a?.perRequest) || !Number.isFinite(b?.perRequest)) {
        const whyOf = (row, name) =>
          row?.notNode ? `${name} is not a node process` : `${name}: ${row?.note || 'no data'}`;
        const why = !Number.isFinite(b?.perRequest) ? whyOf(b, t.vs) : whyOf(a, t.server);
        out.push(`${label}: not measured (${why}) [target ${want}]`);
        continue;
      }
      const r = a.perRequest / b.perRequest;
      verdicts.push({ scenario: sc.name, server: t.server, vs: t.vs, metric: 'rps', ratio: r, limit, met: r <= limit });
      out.push(`${label} = ${r.toFixed(3)} [target ${want}]: ${r <= limit ? 'MET' : 'MISSED'}`);
    }
  }
  return out;
}

/** A short hash of the measured @skitai packages (the run's snapshot): same hash, same code. */
function snapshotHash(dir) {
  if (!fs.existsSync(dir)) return 'no snapshot';
  const h = crypto.createHash('sha256');
  const files = fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.js'))
    .sort();
  for (const f of files) {
    h.update(f);
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest('hex').slice(0, 12);
}

// ---------------------------------------------------------------- the mode
/**
 * deps: { selected, opt, ctx, tmp, launch(sc, srv, cpus, extraCtx, launchOpts), log, gitHead,
 *         cmdline, outDir, pending(sc) -> reason|null, valgrind (version string) }
 */
export async function runInstructions(deps) {
  const { selected, opt, log, gitHead, cmdline, outDir, valgrind } = deps;
  deps.root ??= path.resolve(outDir, '..', '..');
  deps.profileDir ??= path.join(deps.root, 'bench', 'profiles', 'callgrind');
  const started = new Date();
  const snap = opt.snapshot
    ? snapshotHash(path.join(path.dirname(outDir), 'node_modules', '@skitai'))
    : 'live kernel/dist (--no-snapshot)';
  log(`  @skitai packages measured: ${opt.snapshot ? `snapshot ${snap}` : snap}`);
  log(
    `  instructions per request under ${valgrind} (callgrind): ${opt.warmupRequests} warm-up + ${opt.requests} measured requests per server over ${opt.instructionConnections > 1 ? `${opt.instructionConnections} keep-alive connections, each` : 'one keep-alive connection,'} sequential; ${opt.jobs} server(s) at a time`,
  );
  const results = [];
  for (const sc of selected) {
    const why = notInThisMode(sc) ?? (await deps.pending(sc));
    if (why) {
      log(`\n[${sc.name}] ${sc.title}: skipped: ${why}`);
      results.push({ sc, res: { skip: why } });
      continue;
    }
    log(`\n[${sc.name}] ${sc.title}`);
    try {
      const res = await measureScenario(sc, deps);
      if (res.skip) log(`  skipped: ${res.skip}`);
      results.push({ sc, res });
    } catch (e) {
      log(`  FAILED: ${e.stack || e.message}`);
      results.push({ sc, res: { skip: `failed: ${e.message.split('\n')[0]}` } });
    }
  }

  const finished = new Date();
  const lines = tableRows(results);
  const verdicts = [];
  const targets = targetLines(results, verdicts);
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  const header = `${finished.toISOString().slice(0, 16).replace('T', ' ')} UTC, \`${cmdline}\` at commit ${gitHead} (built packages ${opt.snapshot ? `snapshot ${snap}` : snap}), Node ${process.version}, ${valgrind} (callgrind), ${opt.warmupRequests} warm-up + ${opt.requests} measured requests per server${opt.repeat > 1 ? `, ${opt.repeat} runs each (the lowest count kept)` : ''} (static-1m: ${Math.round(SCALE['static-1m'] * 100)} % of that) over ${opt.instructionConnections > 1 ? `${opt.instructionConnections} keep-alive connections at once, each` : 'one keep-alive connection,'} one request at a time; ${os.cpus().length} CPUs (${cpu}), Linux ${os.release()}`;
  const legend =
    "Instructions per request (WebSocket: per echoed message) counted by valgrind --tool=callgrind in the server process's main thread, where requests are served (the load client and was-get's backend are not counted); ratio = server / baseline, lower is better. \"all threads\" adds V8's compiler and GC helper threads: mostly JIT compiling that is still going on after the warm-up under valgrind, which a long native run has finished.";

  console.log('\n' + header);
  console.log(legend + '\n');
  console.log(textTable(HEAD, NUMERIC, lines));
  console.log(
    '\ntargets (restated on instructions):\n' +
      (targets.length ? targets.map((t) => '  ' + t).join('\n') : '  (none in these scenarios)'),
  );

  const md = [
    `Run: ${header}.`,
    '',
    legend,
    '',
    markdownTable(HEAD, NUMERIC, lines),
    '',
    'Targets restated on instructions (a req/s target `>= m x baseline` becomes `instructions <= baseline / m`):',
    '',
    ...(targets.length ? targets.map((t) => `- ${t}`) : ['- (none in these scenarios)']),
  ].join('\n');

  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'instructions.md'), md + '\n');
  fs.writeFileSync(
    path.join(outDir, 'instructions.json'),
    JSON.stringify(
      {
        started: started.toISOString(),
        finished: finished.toISOString(),
        date: finished.toISOString(),
        command: cmdline,
        commit: gitHead,
        packagesSnapshot: snap,
        node: process.version,
        valgrind,
        machine: { cpus: os.cpus().length, cpu, linux: os.release() },
        requests: opt.requests,
        warmupRequests: opt.warmupRequests,
        scale: SCALE,
        jobs: opt.jobs,
        repeat: opt.repeat,
        perfBasicProf: !!opt.functions,
        results: results.map(({ sc, res }) => ({
          scenario: sc.name,
          unit: unitOf(sc),
          skip: res.skip,
          rows: res.rows?.map((r) => ({
            server: r.server,
            instructionsPerRequest: r.perRequest ?? null,
            allThreadsPerRequest: r.allThreadsPerRequest ?? null,
            instructions: r.instructions ?? null,
            requests: r.requests ?? null,
            warmup: r.warmup ?? null,
            seconds: r.seconds ?? null,
            runs: r.runs ?? null,
            note: r.note,
            skipped: !!r.skipped,
            failed: !!r.failed,
            notNode: !!r.notNode,
          })),
        })),
        targets,
        verdicts,
        header,
        markdown: md,
      },
      null,
      2,
    ) + '\n',
  );
  log(`\nwrote bench/results/instructions.md and instructions.json (${((finished - started) / 1000).toFixed(0)} s)`);
  if (opt.functions) {
    const profiles = targetProfiles(results, verdicts, deps.root);
    writeProfiles({ outDir, profiles, header, started: started.toISOString(), root: deps.root });
    log(
      `wrote bench/results/profiles.md and profiles.json (${profiles.length} target(s)); callgrind files and perf maps in ${path.relative(deps.root, deps.profileDir)}/`,
    );
  }

  if (opt.updateMd) {
    console.log(
      '\n--update-md with --instructions does not write BENCHMARKS.md: `npm run bench -- --report --update-md` writes this run with the req/s run beside it',
    );
  }
  const failed = results.some(({ res }) => res.rows?.some((r) => r.failed));
  return failed ? 1 : 0;
}
