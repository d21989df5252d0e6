// Per-function profiles from callgrind files, for `npm run bench -- --instructions`: the
// instructions each function executed itself (self cost, so the functions of a file sum to its
// `totals:` line), JIT frames named from node's `--perf-basic-prof` map (/tmp/perf-<pid>.map),
// C/C++ frames by their symbols, every function given an owner (node's JavaScript, V8, libuv,
// libc, one of our packages, an npm package such as the framework baseline), and the diff of two
// servers per request: by owner and by function, the top N differences and the rest, so that
// the rows sum to the total difference.
//
// callgrind names a block of code it has no symbol for by its address ("0x000000000d052a95"),
// one "function" per such block: every JIT block is looked up in the perf map by address.
import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------- callgrind file
/**
 * The self cost of every function in a callgrind file (the first event, Ir, only).
 * -> { totals, events, pid, cmd, thread, fns: [{ ob, fn, self }] }
 */
export function parseCallgrind(text) {
  const names = { ob: new Map(), fl: new Map(), fn: new Map() };
  // `fn=(12) name` defines id 12, `fn=(12)` uses it; ob/cob share one table, fn/cfn another,
  // fl/fi/fe/cfi/cfl a third.
  const name = (table, v) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(v);
    if (!m) return v;
    if (m[2] !== undefined) names[table].set(m[1], m[2]);
    return names[table].get(m[1]) ?? `(${m[1]})`;
  };
  const self = new Map(); // "ob\0fn" -> instructions
  let ob = '???',
    fn = '???',
    key = null,
    positions = 1,
    evIndex = 0,
    afterCalls = false,
    totals = null,
    events = null,
    pid = null,
    cmd = null,
    thread = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const c = line.charCodeAt(0);
    // cost lines start with a digit, '+', '-' or '*' (relative and repeated positions)
    if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42) {
      if (afterCalls) {
        afterCalls = false; // the inclusive cost of the call just described: not self cost
        continue;
      }
      const parts = line.split(' ');
      const v = Number(parts[positions + evIndex] ?? 0);
      if (v) {
        key ??= `${ob}\0${fn}`;
        self.set(key, (self.get(key) ?? 0) + v);
      }
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && eq < 6) {
      const k = line.slice(0, eq),
        v = line.slice(eq + 1);
      if (k === 'fn') {
        fn = name('fn', v);
        key = null;
      } else if (k === 'ob') {
        ob = name('ob', v);
        key = null;
      } else if (k === 'cfn') name('fn', v);
      else if (k === 'cob') name('ob', v);
      else if (k === 'fl' || k === 'fi' || k === 'fe' || k === 'cfi' || k === 'cfl') name('fl', v);
      else if (k === 'calls') afterCalls = true;
      continue;
    }
    if (line.startsWith('totals:')) totals = (totals ?? 0) + Number(line.slice(7).trim().split(/\s+/)[evIndex]);
    else if (line.startsWith('events:')) {
      events = line.slice(7).trim().split(/\s+/);
      evIndex = Math.max(0, events.indexOf('Ir'));
    } else if (line.startsWith('positions:')) positions = line.slice(10).trim().split(/\s+/).length;
    else if (line.startsWith('pid:')) pid = Number(line.slice(4));
    else if (line.startsWith('cmd:')) cmd = line.slice(4).trim();
    else if (line.startsWith('thread:')) thread = Number(line.slice(7));
  }
  const fns = [];
  for (const [k, v] of self) {
    const z = k.indexOf('\0');
    fns.push({ ob: k.slice(0, z), fn: k.slice(z + 1), self: v });
  }
  return { totals, events, pid, cmd, thread, fns };
}

// ---------------------------------------------------------------- perf map
/**
 * node --perf-basic-prof's map: `<start hex> <size hex> <name>` per code object, appended as
 * code is made. An address freed and reused is named by the entry written last.
 * -> { lookup(addr: bigint|number) -> name | null, entries }
 */
export function parsePerfMap(text) {
  const entries = [];
  let idx = 0;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.*)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16),
      size = parseInt(m[2], 16);
    if (size > 0) entries.push({ start, end: start + size, name: m[3], idx: idx++ });
  }
  entries.sort((a, b) => a.start - b.start || a.idx - b.idx);
  // maxEnd[i]: the furthest end among entries[0..i], so a lookup scans back only as far as
  // an entry could still cover the address.
  const maxEnd = new Array(entries.length);
  let far = 0;
  for (let i = 0; i < entries.length; i++) maxEnd[i] = far = Math.max(far, entries[i].end);
  const lookup = (addr) => {
    const a = Number(addr);
    let lo = 0,
      hi = entries.length - 1,
      at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid].start <= a) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let best = null;
    for (let i = at; i >= 0 && maxEnd[i] > a; i--) {
      const e = entries[i];
      if (e.end > a && (!best || e.idx > best.idx)) best = e;
    }
    return best ? best.name : null;
  };
  return { lookup, entries };
}

// ---------------------------------------------------------------- owners
export const OWNERS = {
  nodeJs: "node's lib (JavaScript, node:*)",
  nodeCpp: 'node C++ (llhttp, bindings)',
  v8: 'V8 builtins and runtime',
  ic: 'V8 inline caches (IC builtins)',
  baseline: 'V8 Sparkplug helpers (code not yet optimized)',
  interp: 'V8 interpreter (bytecode handlers)',
  regexp: 'V8 RegExp',
  gc: 'V8 GC and heap',
  uv: 'libuv',
  libc: 'libc, libstdc++ (system calls, malloc)',
  bench: 'bench server script',
  jitUnknown: 'JIT code missing from the perf map',
  other: 'other',
};

const GC =
  /cppgc::|::Heap::|^v8::internal::Heap|Scaveng|MarkCompact|Marking|Sweeper|Evacuat|RememberedSet|SlotSet|WriteBarrier|RecordWrite|MemoryChunk|PagedSpace|NewSpace|SemiSpace|LargeObjectSpace|MemoryAllocator|ArrayBufferSweeper|GCTracer|LocalHeap|Safepoint|AllocationObserver|MainAllocator|ConcurrentAllocator|EmbedderHeapTracer|^v8::internal::Factory::New|AllocateRaw|Runtime_Allocate/;
const REGEXP = /RegExp|Irregexp|regexp/;
// the inline caches' builtins (LoadIC, KeyedStoreIC_Megamorphic, LoadICBaseline ...): property
// accesses that the calling code does not handle inline (not yet optimized, or polymorphic)
const IC =
  /^(Keyed)?(Load|Store|DefineNamedOwn|DefineKeyedOwn|LoadGlobal|StoreGlobal|StoreInArrayLiteral|Has|CloneObject|InstanceOf)IC/;
const LIBC = /\/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*|libstdc\+\+|libgcc_s)[.-][^/]*$|vdso/;

function builtinOwner(b) {
  if (GC.test(b)) return OWNERS.gc;
  if (REGEXP.test(b)) return OWNERS.regexp;
  if (IC.test(b)) return OWNERS.ic;
  if (/Baseline/.test(b)) return OWNERS.baseline;
  return OWNERS.v8;
}

/** Package name of a file path inside node_modules (the last one), or null. */
function npmPackage(p) {
  const i = p.lastIndexOf('/node_modules/');
  if (i < 0) return null;
  const rest = p.slice(i + 14).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

/** The workspace package (package.json `name`) a built file of the repository belongs to. */
const pkgNames = new Map();
function workspacePackage(file, root) {
  if (!root || !file.startsWith(root + '/')) return null;
  const m = /^((?:kernel|plugins\/[^/]+|lib\/[^/]+|test-support|examples\/[^/]+))\//.exec(file.slice(root.length + 1));
  if (!m) return null;
  const dir = path.join(root, m[1]);
  if (!pkgNames.has(dir)) {
    let n = null;
    try {
      n = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name ?? null;
    } catch {
      /* no package.json: not a package */
    }
    pkgNames.set(dir, n);
  }
  return pkgNames.get(dir);
}

/**
 * A JIT frame's perf-map name split: `JS:*emit node:events:460:10` ->
 * { kind: 'JS', tier: '*', fname: 'emit', where: 'node:events:460:10' }.
 * Tiers: ~ interpreted (its bytecode runs in the handlers), ^ Sparkplug, + Maglev, * TurboFan.
 */
export function splitJitName(s) {
  const m = /^([A-Za-z]+):([~^+*]?)(.*)$/.exec(s);
  if (!m) return { kind: '', tier: '', fname: s, where: '' };
  const rest = m[3];
  const sp = rest.lastIndexOf(' ');
  // `name url:line:col`; anonymous functions have an empty name; builtins have no location
  if (sp >= 0 && /:\d+(:\d+)?$/.test(rest))
    return { kind: m[1], tier: m[2], fname: rest.slice(0, sp), where: rest.slice(sp + 1) };
  if (/^\S+:\d+(:\d+)?$/.test(rest) && /^(?:node:|file:|\/)/.test(rest))
    return { kind: m[1], tier: m[2], fname: '', where: rest };
  return { kind: m[1], tier: m[2], fname: rest, where: '' };
}

/** The owner of a JavaScript function by its script's location. */
export function ownerOfScript(where, root) {
  if (where.startsWith('node:')) return OWNERS.nodeJs;
  const file = where.startsWith('file://') ? decodeURIComponent(where.slice(7)) : where;
  const npm = npmPackage(file);
  if (npm) return npm.startsWith('@skitai/') ? npm : `npm: ${npm}`;
  const ws = workspacePackage(file, root);
  if (ws) return ws;
  if (root && file.startsWith(path.join(root, 'bench') + '/')) return OWNERS.bench;
  return OWNERS.other;
}

/**
 * One function's display name and owner. `fn` is callgrind's name (a symbol, or an address
 * for code without one), `ob` the object file, `jit` the perf-map name of the address, if any.
 */
export function classify(ob, rawFn, jit, root) {
  // `name'2`: callgrind's recursion depth of the same function: one row
  const fn = rawFn.replace(/'\d+$/, '');
  // the qualified name without a C++ return type or parameters: `void v8::internal::X<..>(...)`
  const head = fn.replace(/\(.*$/, '').replace(/^.*\s(?=[\w:~]+(<.*>)?$)/, '');
  if (jit) {
    const j = splitJitName(jit);
    if (j.kind === 'RegExp') return { name: jit, owner: OWNERS.regexp };
    if (j.kind === 'BytecodeHandler') return { name: jit, owner: OWNERS.interp };
    if (j.kind === 'Builtin' || j.kind === 'Stub' || j.kind === 'Handler' || !j.where) {
      const b = j.fname;
      return {
        name: `Builtin:${b}`,
        owner: builtinOwner(b),
      };
    }
    // the same function in any tier is one row (the tiers it ran in are kept beside it)
    // ES modules are file:// URLs, CommonJS files plain paths (fastify, express)
    const where = j.where.startsWith('file://')
      ? shortPath(decodeURIComponent(j.where.slice(7)), root)
      : j.where.startsWith('/')
        ? shortPath(j.where, root)
        : j.where;
    return { name: `${j.fname || '(anonymous)'} ${where}`, owner: ownerOfScript(j.where, root), tier: j.tier };
  }
  if (/^0x[0-9a-f]+/i.test(fn)) {
    return ob === '???' || !ob
      ? { name: 'JIT code missing from the perf map', owner: OWNERS.jitUnknown }
      : { name: `(no symbol in ${path.basename(ob)})`, owner: LIBC.test(ob) ? OWNERS.libc : OWNERS.other };
  }
  if (LIBC.test(ob)) return { name: fn, owner: OWNERS.libc };
  if (/^uv_|^uv__/.test(fn)) return { name: fn, owner: OWNERS.uv };
  if (/^Builtins_/.test(fn)) {
    const b = fn.slice(9);
    if (/Handler(_Wide|_ExtraWide)?$/.test(b) || /^Interpreter/.test(b)) return { name: fn, owner: OWNERS.interp };
    return { name: fn, owner: builtinOwner(b) };
  }
  if (/^(v8::|cppgc::|heap::|v8_inspector::|unibrow::|icu_)/.test(head)) {
    return { name: fn, owner: GC.test(fn) ? OWNERS.gc : REGEXP.test(fn) ? OWNERS.regexp : OWNERS.v8 };
  }
  if (
    /^(node::|llhttp|napi_|ares_|nghttp2_|ngtcp2_|brotli|BrotliE|inflate|deflate|ossl_|EVP_|SSL_|CRYPTO_|OPENSSL_)/.test(
      head,
    )
  )
    return { name: fn, owner: OWNERS.nodeCpp };
  if (/\/node$|\/node[-\d.]*$/.test(ob)) return { name: fn, owner: GC.test(fn) ? OWNERS.gc : OWNERS.nodeCpp };
  return { name: fn, owner: OWNERS.other };
}

function shortPath(file, root) {
  const npm = file.lastIndexOf('/node_modules/');
  if (npm >= 0) return file.slice(npm + 14);
  if (root && file.startsWith(root + '/')) return file.slice(root.length + 1);
  return file;
}

// ---------------------------------------------------------------- one server's profile
/**
 * Self instructions by function (JIT blocks named and merged), for one callgrind file and the
 * perf map of its process. -> { total, unattributed, functions: [{ name, owner, self, tiers }] }
 * `total` is the file's `totals:` line; `unattributed` what the function rows do not add up
 * to (0 for a complete file).
 */
export function functionProfile(cg, perfMap, { root } = {}) {
  const byName = new Map();
  for (const { ob, fn, self } of cg.fns) {
    const jit = /^0x[0-9a-f]+/i.test(fn) && perfMap ? perfMap.lookup(parseInt(fn, 16)) : null;
    const c = classify(ob, fn, jit, root);
    const k = `${c.owner}\0${c.name}`;
    let row = byName.get(k);
    if (!row) byName.set(k, (row = { name: c.name, owner: c.owner, self: 0, tiers: '' }));
    row.self += self;
    if (c.tier && !row.tiers.includes(c.tier)) row.tiers += c.tier;
  }
  const functions = [...byName.values()].sort((a, b) => b.self - a.self);
  const sum = functions.reduce((s, f) => s + f.self, 0);
  const total = cg.totals ?? sum;
  return { total, unattributed: total - sum, functions };
}

/** A server's profile from its callgrind file and perf map (either may be missing: null). */
export function profileFromFiles(callgrindFile, perfMapFile, opts) {
  const cg = parseCallgrind(fs.readFileSync(callgrindFile, 'utf8'));
  const pm = perfMapFile && fs.existsSync(perfMapFile) ? parsePerfMap(fs.readFileSync(perfMapFile, 'utf8')) : null;
  return functionProfile(cg, pm, opts);
}

// ---------------------------------------------------------------- diff
const UNATTRIBUTED = '(callgrind total not in any function row)';

/**
 * Subject minus baseline, per request. a, b: { profile, requests }.
 * -> { subject, baseline, diff (per request), owners: [...], functions: top N by |diff|,
 *      rest: { count, subject, baseline, diff } } — owners sum to the totals, and the top
 *      functions plus `rest` sum to them too.
 */
export function profileDiff(a, b, { top = 20 } = {}) {
  const rows = new Map();
  const add = (p, n, side) => {
    const put = (owner, name, v, tiers = '') => {
      const k = `${owner}\0${name}`;
      let r = rows.get(k);
      if (!r) rows.set(k, (r = { name, owner, subject: 0, baseline: 0, tiers: '' }));
      r[side] += v / n;
      for (const t of tiers) if (!r.tiers.includes(t)) r.tiers += t;
    };
    for (const f of p.functions) put(f.owner, f.name, f.self, f.tiers);
    if (p.unattributed) put(OWNERS.other, UNATTRIBUTED, p.unattributed);
  };
  add(a.profile, a.requests, 'subject');
  add(b.profile, b.requests, 'baseline');
  const all = [...rows.values()].map((r) => ({ ...r, diff: r.subject - r.baseline }));
  const owners = new Map();
  for (const r of all) {
    let o = owners.get(r.owner);
    if (!o) owners.set(r.owner, (o = { owner: r.owner, subject: 0, baseline: 0, diff: 0 }));
    o.subject += r.subject;
    o.baseline += r.baseline;
    o.diff += r.diff;
  }
  all.sort((x, y) => Math.abs(y.diff) - Math.abs(x.diff) || y.subject - x.subject);
  const shown = all.slice(0, top);
  const restRows = all.slice(top);
  const rest = addRows(restRows, { count: 0, subject: 0, baseline: 0, diff: 0 });
  const subject = a.profile.total / a.requests,
    baseline = b.profile.total / b.requests;
  return {
    subject,
    baseline,
    diff: subject - baseline,
    owners: [...owners.values()].sort((x, y) => Math.abs(y.diff) - Math.abs(x.diff)),
    functions: shown,
    rest,
  };
}

/** The "all other functions" row: `rows` added to `start` (a count and three sums). */
function addRows(rows, start) {
  const sum = { ...start };
  for (const r of rows) {
    sum.count += 1;
    sum.subject += r.subject;
    sum.baseline += r.baseline;
    sum.diff += r.diff;
  }
  return sum;
}

/** One server's profile alone, per request, in the diff's shape (baseline 0). */
export function profileAlone(a, { top = 20 } = {}) {
  const zero = { profile: { total: 0, unattributed: 0, functions: [] }, requests: 1 };
  return profileDiff(a, zero, { top });
}

// ---------------------------------------------------------------- Markdown
const int = (x) => Math.round(x).toLocaleString('en-US');
const signed = (x) => (Math.round(x) > 0 ? '+' : '') + int(x);
const cell = (s) => String(s).replace(/\|/g, '\\|');
const clip = (s, n = 90) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

/**
 * The Markdown of one diff (from profileDiff, or its JSON): owners, then the top functions and
 * the rest. opts: { subjectName, baselineName, top, alone }
 */
export function diffMarkdown(d, { subjectName = 'subject', baselineName = 'baseline', top, alone = false } = {}) {
  const out = [];
  const fnRows = top ? d.functions.slice(0, top) : d.functions;
  const hidden = d.functions.slice(fnRows.length);
  const rest = addRows(hidden, d.rest);
  if (alone) {
    out.push(`| owner | ${cell(subjectName)} | share |`, '|---|---:|---:|');
    for (const o of [...d.owners].sort((x, y) => y.subject - x.subject))
      out.push(`| ${cell(o.owner)} | ${int(o.subject)} | ${((100 * o.subject) / d.subject).toFixed(1)} % |`);
    out.push(`| **total** | **${int(d.subject)}** | 100 % |`, '');
    out.push(`| function (self instructions per request) | owner | ${cell(subjectName)} |`, '|---|---|---:|');
    for (const f of fnRows)
      out.push(`| ${cell(clip(f.name))}${f.tiers ? ` \`${f.tiers}\`` : ''} | ${cell(f.owner)} | ${int(f.subject)} |`);
    out.push(`| all other functions (${rest.count}) | | ${int(rest.subject)} |`);
    return out.join('\n');
  }
  out.push(`| owner | ${cell(subjectName)} | ${cell(baselineName)} | difference |`, '|---|---:|---:|---:|');
  for (const o of d.owners)
    out.push(`| ${cell(o.owner)} | ${int(o.subject)} | ${int(o.baseline)} | ${signed(o.diff)} |`);
  out.push(`| **total** | **${int(d.subject)}** | **${int(d.baseline)}** | **${signed(d.diff)}** |`, '');
  out.push(
    `| function (self instructions per request) | owner | ${cell(subjectName)} | ${cell(baselineName)} | difference |`,
    '|---|---|---:|---:|---:|',
  );
  for (const f of fnRows)
    out.push(
      `| ${cell(clip(f.name))}${f.tiers ? ` \`${f.tiers}\`` : ''} | ${cell(f.owner)} | ${int(f.subject)} | ${int(f.baseline)} | ${signed(f.diff)} |`,
    );
  out.push(
    `| all other functions (${rest.count}) | | ${int(rest.subject)} | ${int(rest.baseline)} | ${signed(rest.diff)} |`,
  );
  return out.join('\n');
}
