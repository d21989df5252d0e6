// The bench's per-function profiles (bench/lib/callgrind.mjs): a callgrind file read into self
// instructions per function, JIT frames named from node's --perf-basic-prof map, and the diff of
// two runs whose rows sum to the total difference. The real files are made here: two node
// scripts under valgrind, one doing extra work in a function of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repo } from '../support/net.js';
import { benchLib, missingTool } from '../support/bench.js';

const lib: any = await benchLib('callgrind.mjs');

const noValgrind = missingTool('valgrind', 'valgrind', 'the real-file test');

// One process, two counted phases, as the bench counts its requests (callgrind_control -i on,
// then a dump between the phases): node's start-up under callgrind is not counted (~500 M
// instructions, a minute on a loaded machine), and is paid once.
const SCRIPT = `
function hotSubject(n) { let s = 0; for (let i = 0; i < n; i++) s += (i * 7) % 13; return s; }
function extraWork(n) { const a = []; for (let i = 0; i < n; i++) a.push({ i, s: 'x' + i }); return a.length; }
const run = (extra) => { let t = 0; for (let k = 0; k < 300; k++) { t += hotSubject(3000); if (extra) t += extraWork(300); } return t; };
process.stdout.write('ready\\n');
process.stdin.on('data', (d) => {
  const cmd = String(d).trim();
  if (cmd === 'exit') process.exit(0);
  process.stdout.write('done ' + run(cmd === 'extra') + '\\n');
});
`;

function control(prefix: string, pid: number, ...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('callgrind_control', [`--vgdb-prefix=${prefix}`, ...args, String(pid)], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`callgrind_control ${args.join(' ')}: ${code}`)),
    );
  });
}

/**
 * node --perf-basic-prof <script> under callgrind: a "plain" phase, a dump, an "extra" phase.
 * -> { plain, extra: callgrind files, map: the perf map }
 */
async function underCallgrind(dir: string, script: string): Promise<{ plain: string; extra: string; map: string }> {
  const out = path.join(dir, 'cg.out');
  const prefix = path.join(dir, 'vgdb');
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${out}`,
      '--instr-atstart=no',
      `--vgdb-prefix=${prefix}`,
      process.execPath,
      '--perf-basic-prof',
      // Both phases run the same tier: baseline code from the first call, never optimized.
      // Otherwise the first phase runs unoptimized and the second optimized, so their diff is
      // V8's tiering (tens of millions of instructions), not the extra function.
      '--no-opt',
      '--no-maglev',
      '--always-sparkplug',
      script,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  const lines: string[] = [];
  let buf = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      waiters.shift()?.();
    }
  });
  const nextLine = async () => {
    if (!lines.length) await Promise.race([new Promise<void>((r) => waiters.push(r)), exited]);
    const l = lines.shift();
    if (l === undefined) throw new Error(`the script exited early: ${err.slice(-500)}`);
    return l;
  };
  assert.equal(await nextLine(), 'ready');
  await control(prefix, child.pid!, '-i', 'on');
  child.stdin.write('plain\n');
  assert.match(await nextLine(), /^done \d+/);
  await control(prefix, child.pid!, '--dump');
  child.stdin.write('extra\n');
  assert.match(await nextLine(), /^done \d+/);
  await control(prefix, child.pid!, '-i', 'off');
  child.stdin.write('exit\n');
  const code = await exited;
  assert.equal(code, 0, `valgrind exited ${code}: ${err.slice(-500)}`);
  // the dump is cg.out.1; what was counted after it is written at exit
  const files = fs.readdirSync(dir).filter((f) => f.startsWith('cg.out') && fs.statSync(path.join(dir, f)).size > 0);
  const dumped = files.find((f) => /\.1$/.test(f));
  const last = files.find((f) => f !== dumped);
  assert.ok(dumped && last, `two callgrind files: ${files.join(', ')}`);
  return { plain: path.join(dir, dumped), extra: path.join(dir, last), map: `/tmp/perf-${child.pid}.map` };
}

test('parseCallgrind: names by id, self cost without the inclusive cost of calls', () => {
  const text = [
    'events: Ir',
    'positions: line',
    'ob=(1) /usr/bin/node',
    'fl=(1) ???',
    'fn=(1) main',
    '0 10',
    'cob=(2) /usr/lib/x86_64-linux-gnu/libc.so.6',
    'cfn=(2) write',
    'calls=2 0',
    '0 700',
    '+2 5',
    'ob=(2)',
    'fn=(2)',
    '* 700',
    'ob=(3) ???',
    'fn=(3) 0x0000000000001010',
    '0 40',
    'totals: 755',
  ].join('\n');
  const cg = lib.parseCallgrind(text);
  assert.equal(cg.totals, 755);
  const self = Object.fromEntries(cg.fns.map((f: any) => [f.fn, f.self]));
  assert.deepEqual(self, { main: 15, write: 700, '0x0000000000001010': 40 });
  assert.equal(cg.fns.find((f: any) => f.fn === 'write').ob, '/usr/lib/x86_64-linux-gnu/libc.so.6');

  // the JIT block is named by the perf map entry written last for its address
  const map = lib.parsePerfMap(
    ['1000 40 JS:~old file:///x.js:1:1', '1000 20 JS:*fresh file:///x.js:1:1', '2000 10 Builtin:Foo'].join('\n'),
  );
  assert.equal(map.lookup(0x1010), 'JS:*fresh file:///x.js:1:1');
  assert.equal(map.lookup(0x1030), 'JS:~old file:///x.js:1:1');
  assert.equal(map.lookup(0x3000), null);
  const p = lib.functionProfile(cg, map, {});
  assert.equal(p.unattributed, 0);
  assert.deepEqual(
    p.functions.map((f: any) => [f.name, f.owner, f.self]),
    [
      ['write', lib.OWNERS.libc, 700],
      ['fresh /x.js:1:1', lib.OWNERS.other, 40],
      ['main', lib.OWNERS.nodeCpp, 15],
    ],
  );
});

// node's start-up under callgrind takes 10-30 s, more on a loaded machine: a time limit of its own
const LIMIT = { skip: noValgrind, timeout: 600_000 };
test(
  'a real callgrind file of node --perf-basic-prof: named JIT frames, owners, a diff that sums up',
  LIMIT,
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-callgrind-'));
    const maps: string[] = [];
    try {
      const script = path.join(dir, 'work.js');
      fs.writeFileSync(script, SCRIPT);
      const files = await underCallgrind(dir, script);
      maps.push(files.map);
      assert.ok(fs.existsSync(files.map), 'node --perf-basic-prof wrote its perf map');

      const cg = lib.parseCallgrind(fs.readFileSync(files.plain, 'utf8'));
      assert.equal(
        cg.fns.reduce((s: number, f: any) => s + f.self, 0),
        cg.totals,
        'the self costs add up to the totals: line',
      );
      const a = lib.profileFromFiles(files.extra, files.map, { root: repo });
      const b = lib.profileFromFiles(files.plain, files.map, { root: repo });
      assert.equal(a.unattributed, 0);
      const hot = b.functions.find((f: any) => f.name.startsWith('hotSubject '));
      assert.ok(hot, 'the hot JavaScript function is named from the perf map');
      assert.ok(hot.self > 300 * 3000, `hotSubject ran its loop (${hot.self} instructions)`);
      assert.match(hot.name, /work\.js:2:/);
      const owners = new Set(b.functions.map((f: any) => f.owner));
      for (const o of [lib.OWNERS.nodeJs, lib.OWNERS.libc]) assert.ok(owners.has(o), `${o} is an owner`);
      assert.ok(
        b.functions.some((f: any) => f.name.startsWith('Builtins_') && f.owner.startsWith('V8')),
        'V8 builtins named by symbol',
      );

      const d = lib.profileDiff({ profile: a, requests: 1 }, { profile: b, requests: 1 }, { top: 5 });
      assert.equal(d.diff, a.total - b.total);
      const close = (x: number, y: number) => Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y));
      const shown = d.functions.reduce((s: number, f: any) => s + f.diff, 0);
      assert.ok(close(shown + d.rest.diff, d.diff), 'top functions and the rest sum to the difference');
      assert.ok(
        close(
          d.owners.reduce((s: number, o: any) => s + o.diff, 0),
          d.diff,
        ),
        'owners sum to the difference',
      );
      // The extra phase's own function is named, and only it runs it; its work is mostly in the
      // builtins it calls (object literals, push, string adds), which lead the difference.
      const ex = a.functions.find((f: any) => f.name.startsWith('extraWork '));
      assert.ok(ex && ex.self > 0, `extraWork is named in the extra phase:\n${lib.diffMarkdown(d)}`);
      assert.ok(!b.functions.some((f: any) => f.name.startsWith('extraWork ')), 'the plain phase never runs extraWork');
      assert.ok(d.diff > 0, 'the extra phase did more work');
      assert.ok(
        d.functions.every((f: any) => f.diff > 0),
        `the top differences are all the extra phase's work:\n${lib.diffMarkdown(d)}`,
      );
      const md = lib.diffMarkdown(d, { subjectName: 'extra', baselineName: 'plain' });
      assert.match(md, /\| \*\*total\*\* \|/);
      assert.match(md, /all other functions \(\d+\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      for (const m of maps) fs.rmSync(m, { force: true });
    }
  },
);
