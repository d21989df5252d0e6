// Writes kernel/dist/src/entry.js, the file behind `import '@skitai/kernel'`, and what it loads:
// every module that kernel/dist/src/index.js reaches (statically, or by `import('./...')`) in ONE
// script, entry-modules.js, each wrapped in a function that runs on its first use, as tsc
// compiled it; and entry-modules.cache, V8's code cache of that script after a warm start.
//
// Why one file: node 20's ESM loader costs about the same for every file it loads (resolve, an
// async read, compile, link), whatever its size, and the kernel is ~50 small files: that
// per-file cost was most of what a kernel added to an Express app's start. One file keeps the
// source in small modules and loads once. What a module loads on first use (the process model
// behind `import('./process/run.js')`) still waits for that use: its function runs then.
//
// Why a code cache: parsing and compiling that script was then the largest part of the kernel's
// start (V8 pre-parses all of it, then compiles each function that runs). entry.js compiles it
// with node:vm and the cache made here, by a fresh `node` that imports the entry, runs a kernel
// (run(), one request) and asks V8 for the cache of everything compiled by then. V8 checks the
// cache against its own version, its flags and the script's length, and ignores a cache that
// does not match (another node, NODE_OPTIONS with V8 flags): the script is then compiled as
// before, only slower. Node 20 has no compile cache of its own (module.enableCompileCache is 22).
//
// The files tsc writes stay as they are (the kernel's own tests import them one by one); the
// entry is made from them, so it must be remade after each build: scripts/build.mjs,
// scripts/test.mjs and bench/run.mjs call ensureKernelEntry(), which does it only when a
// compiled file is newer than the entry.
//   node scripts/kernel-entry.mjs           remake it if stale
//   node scripts/kernel-entry.mjs --force   remake it
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'kernel/dist/src');
export const ENTRY = path.join(dist, 'entry.js');
/** The modules, one script that evaluates to the function entry.js calls. */
export const MODULES = path.join(dist, 'entry-modules.js');
/** V8's code cache of MODULES (made by makeCodeCache below). */
export const CACHE = path.join(dist, 'entry-modules.cache');
/** The V8 version that made CACHE (another V8 refuses it): for tests and for people reading dist. */
export const CACHE_V8 = path.join(dist, 'entry-modules.cache-v8');

/** The .js files of kernel/dist/src except the entry's (cli.js and the rest are included: cheap). */
function compiledFiles(dir = dist, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) compiledFiles(full, out);
    else if (e.name.endsWith('.js') && full !== ENTRY && full !== MODULES) out.push(full);
  }
  return out;
}

/** True when the entry is missing or older than a compiled file (or this script). */
export function entryIsStale() {
  if (!fs.existsSync(path.join(dist, 'index.js'))) return false; // not built yet: nothing to make
  if (!fs.existsSync(ENTRY) || !fs.existsSync(MODULES) || !fs.existsSync(CACHE)) return true;
  const made = Math.min(fs.statSync(ENTRY).mtimeMs, fs.statSync(MODULES).mtimeMs, fs.statSync(CACHE).mtimeMs);
  if (fs.statSync(fileURLToPath(import.meta.url)).mtimeMs > made) return true;
  return compiledFiles().some((f) => fs.statSync(f).mtimeMs > made);
}

const RELATIVE = /^\.\.?\//;

/** One module's key (its path under dist/src, '/'-separated) from an importer's key and a specifier. */
const keyOf = (from, spec) => path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));

/** The module keys reachable from index.js, by static imports and literal relative import()s. */
async function reachable(ts) {
  const seen = new Set();
  const todo = ['index.js'];
  while (todo.length) {
    const key = todo.pop();
    if (seen.has(key)) continue;
    seen.add(key);
    const text = fs.readFileSync(path.join(dist, key), 'utf8');
    const info = ts.preProcessFile(text, true, true);
    for (const ref of info.importedFiles) if (RELATIVE.test(ref.fileName)) todo.push(keyOf(key, ref.fileName));
  }
  return [...seen].sort();
}

/** `import(x)` calls: a literal relative one becomes a lookup in the entry, any other `__import(x)`. */
function rewriteDynamicImports(ts, key, text) {
  const sf = ts.createSourceFile(key, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits = [];
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg) && RELATIVE.test(arg.text))
        edits.push([node.getStart(sf), node.getEnd(), `__load(${JSON.stringify(keyOf(key, arg.text))})`]);
      else edits.push([node.expression.getStart(sf), node.expression.getEnd(), '__import']);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (const [start, end, by] of edits.sort((a, b) => b[0] - a[0])) text = text.slice(0, start) + by + text.slice(end);
  return text;
}

/** Makes the entry from the compiled files. */
export async function writeKernelEntry() {
  const { default: ts } = await import('typescript');
  const keys = await reachable(ts);
  const index = await import(pathToFileURL(path.join(dist, 'index.js')).href);
  const names = Object.keys(index).sort();
  // The modules: one script evaluating to a function of what only an ES module has (its require,
  // its import(), its URL), which returns the index's exports.
  const out = [
    '// Generated by scripts/kernel-entry.mjs from the files tsc wrote beside it (do not edit): the',
    '// modules of @skitai/kernel in one script, each run on its first use; entry.js compiles it with',
    '// its code cache (entry-modules.cache). Why: see that script.',
    '(function (__require, __import, __entryUrl) {',
    'const __defs = {',
  ];
  for (const key of keys) {
    const source = rewriteDynamicImports(ts, key, fs.readFileSync(path.join(dist, key), 'utf8'))
      .replace(/^\/\/# sourceMappingURL=.*$/m, '')
      .replace(/\bimport\.meta\b/g, '__meta');
    const { outputText } = ts.transpileModule(source, {
      fileName: key,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        removeComments: true,
        sourceMap: false,
      },
    });
    out.push(
      `  ${JSON.stringify(key)}(exports, require, __meta, __load) {`,
      outputText.replace(/^"use strict";\n/, '').trimEnd(),
      '  },',
    );
  }
  out.push(
    '};',
    'const __cache = new Map();',
    '/** A module of the entry by key, run on first use (as require() does, cycles included). */',
    'function __load(key) {',
    '  let exports = __cache.get(key);',
    '  if (exports) return exports;',
    '  exports = {};',
    '  __cache.set(key, exports);',
    "  const dir = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';",
    '  const require = (spec) => {',
    '    if (!/^\\.\\.?\\//.test(spec)) return __require(spec);',
    '    const parts = [];',
    "    for (const p of (dir + spec).split('/')) if (p === '..') parts.pop(); else if (p !== '.') parts.push(p);",
    "    return __load(parts.join('/'));",
    '  };',
    "  const meta = { url: new URL('./' + key, __entryUrl).href };",
    '  __defs[key](exports, require, meta, __load);',
    '  return exports;',
    '}',
    "return __load('index.js');",
    '})',
    '',
  );
  // The entry: reads the modules and their code cache, compiles, runs, exports the index's names.
  const entry = [
    '// Generated by scripts/kernel-entry.mjs (do not edit): @skitai/kernel is entry-modules.js,',
    "// compiled with V8's code cache made at build time (entry-modules.cache; V8 ignores one that",
    '// does not match this node and its flags). Why: see that script.',
    "const __fs = process.getBuiltinModule('node:fs');",
    "const __file = new URL('./entry-modules.js', import.meta.url);",
    'let __cachedData;',
    'try {',
    "  __cachedData = __fs.readFileSync(new URL('./entry-modules.cache', import.meta.url));",
    '} catch {',
    '  // no cache: compiled from source',
    '}',
    "const __script = new (process.getBuiltinModule('node:vm').Script)(__fs.readFileSync(__file, 'utf8'), {",
    "  filename: process.getBuiltinModule('node:url').fileURLToPath(__file),",
    '  cachedData: __cachedData,',
    '});',
    "const __require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
    'const __index = __script.runInThisContext()(__require, (spec) => import(spec), import.meta.url);',
    `export const { ${names.join(', ')} } = __index;`,
    '',
  ];
  // A cache left from other modules would be refused by V8 at best: drop it first.
  fs.rmSync(CACHE, { force: true });
  fs.rmSync(CACHE_V8, { force: true });
  writeAtomically(MODULES, out.join('\n'));
  writeAtomically(ENTRY, entry.join('\n'));
  const cache = makeCodeCache();
  return { modules: keys.length, exports: names.length, cache };
}

/** Writes through a temporary file and a rename: a process loading the kernel meanwhile sees the old file or the new one. */
function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * Makes CACHE in a fresh `node` (no NODE_OPTIONS: V8 refuses a cache made under other flags)
 * running this script with --code-cache: returns its size in bytes, or an error message (the
 * entry works without a cache, only slower).
 */
function makeCodeCache() {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--code-cache'], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status === 0 && fs.existsSync(CACHE)) return fs.statSync(CACHE).size;
  const why = `no code cache (${r.error?.message ?? `exit ${r.status ?? r.signal}`}: ${(r.stderr ?? '').trim().slice(-300)})`;
  // Said where every build sees it: the kernel still loads, only slower, and the next build tries again.
  process.stderr.write(`skitai: kernel/dist/src/entry.js: ${why}\n`);
  return why;
}

/**
 * In the fresh node: compiles MODULES as entry.js does, runs a kernel the way a startup script
 * does (run(), one request, on a port of its own), then writes V8's cache of every function of
 * the script compiled by then, so a start finds them compiled.
 */
async function writeCodeCache() {
  const { default: vm } = await import('node:vm');
  const { createRequire } = await import('node:module');
  const { default: http } = await import('node:http');
  const script = new vm.Script(fs.readFileSync(MODULES, 'utf8'), { filename: MODULES });
  const entryUrl = pathToFileURL(ENTRY).href;
  const { Kernel } = script.runInThisContext()(createRequire(entryUrl), (spec) => import(spec), entryUrl);
  const kernel = new Kernel();
  kernel.mount('/', (_req, res) => res.end('ok'));
  const listening = await kernel.run({ address: '127.0.0.1', port: 0, argv: false });
  if (!listening) throw new Error('the kernel did not start');
  await new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: listening.port, path: '/' }, (res) => res.resume().on('end', resolve))
      .on('error', reject);
  });
  writeAtomically(CACHE, script.createCachedData());
  writeAtomically(CACHE_V8, process.versions.v8);
  process.exit(0);
}

/** Remakes the entry when a build made it stale (cheap when it is not: one stat per file). */
export async function ensureKernelEntry() {
  if (entryIsStale()) return writeKernelEntry();
  return null;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--code-cache')) await writeCodeCache();
  const made = process.argv.includes('--force') ? await writeKernelEntry() : await ensureKernelEntry();
  process.stderr.write(
    made
      ? `skitai: wrote kernel/dist/src/entry.js (${made.modules} modules, ${made.exports} exports; ${typeof made.cache === 'number' ? `code cache ${made.cache} bytes` : made.cache})\n`
      : 'skitai: kernel/dist/src/entry.js is up to date\n',
  );
}
