// The bench's per-function profiles (bench/lib/callgrind.mjs): a callgrind file read into self
// instructions per function, JIT frames named from node's --perf-basic-prof map, and the diff of
// two runs whose rows sum to the total difference. The real files are made here: two node
// scripts under valgrind, one doing extra work in a function of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repo } from '../support/net.js';

const lib: any = await import(pathToFileURL(path.join(repo, 'bench/lib/callgrind.mjs')).href);

const valgrind = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
const noValgrind =
  valgrind.error || valgrind.status !== 0
    ? 'valgrind is not installed (apt-get install -y valgrind; .ci/run installs it): the real-file test is skipped'
    : false;

const SCRIPT = `
function hotSubject(n) { let s = 0; for (let i = 0; i < n; i++) s += (i * 7) % 13; return s; }
function extraWork(n) { const a = []; for (let i = 0; i < n; i++) a.push({ i, s: 'x' + i }); return a.length; }
let t = 0;
for (let k = 0; k < 300; k++) { t += hotSubject(3000); if (process.argv[2] === 'extra') t += extraWork(300); }
console.log(t);
`;

/** node --perf-basic-prof <script> [arg] under callgrind -> { callgrind file, perf map file }. */
function underCallgrind(dir: string, script: string, arg: string): Promise<{ file: string; map: string }> {
  const out = path.join(dir, `cg-${arg}.out`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      'valgrind',
      ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--perf-basic-prof', script, arg],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const map = `/tmp/perf-${child.pid}.map`;
      if (code !== 0) reject(new Error(`valgrind exited ${code}: ${err.slice(-500)}`));
      else resolve({ file: out, map });
    });
  });
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
      const [plain, extra] = await Promise.all([
        underCallgrind(dir, script, 'plain'),
        underCallgrind(dir, script, 'extra'),
      ]);
      maps.push(plain.map, extra.map);
      assert.ok(fs.existsSync(plain.map), 'node --perf-basic-prof wrote its perf map');

      const cg = lib.parseCallgrind(fs.readFileSync(plain.file, 'utf8'));
      assert.equal(
        cg.fns.reduce((s: number, f: any) => s + f.self, 0),
        cg.totals,
        'the self costs add up to the totals: line',
      );
      const a = lib.profileFromFiles(extra.file, extra.map, { root: repo });
      const b = lib.profileFromFiles(plain.file, plain.map, { root: repo });
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
      const ex = d.functions.find((f: any) => f.name.startsWith('extraWork '));
      assert.ok(ex, `extraWork is among the top differences:\n${lib.diffMarkdown(d)}`);
      assert.equal(ex.baseline, 0);
      assert.ok(ex.diff > 0);
      const md = lib.diffMarkdown(d, { subjectName: 'extra', baselineName: 'plain' });
      assert.match(md, /\| \*\*total\*\* \|/);
      assert.match(md, /all other functions \(\d+\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      for (const m of maps) fs.rmSync(m, { force: true });
    }
  },
);
