// Writes dist/src/entry.js, the file behind `import '<package>'`, for the packages a server
// loads on every start (@skitai/kernel, @skitai/xmlrpc, @skitai/app), and what it loads: every
// module that the package's dist/src/index.js reaches (statically, or by `import('./...')`) in
// ONE script, entry-modules.js, each wrapped in a function that runs on its first use, as tsc
// compiled it; and entry-modules.cache, V8's code cache of that script after a warm start.
//
// Why one file: node 20's ESM loader costs about the same for every file it loads (resolve, an
// async read, compile, link), whatever its size, and these packages are ~80 small files: that
// per-file cost was most of what a kernel added to an Express app's start. One file keeps the
// source in small modules and loads once. What a module loads on first use (the process model
// behind `import('./process/run.js')`) still waits for that use: its function runs then.
// Each of those async reads also makes a FileHandle, an EventEmitter: a process that read a few
// dozen files has taught node's EventEmitter.init so many classes that it is megamorphic while
// serving, which costs every request and response about 0.45k instructions (BENCHMARKS.md).
//
// Why a code cache: parsing and compiling that script was then the largest part of the kernel's
// start (V8 pre-parses all of it, then compiles each function that runs). entry.js compiles it
// with node:vm and the cache made here, by a fresh `node` that imports the entry, runs what a
// startup script runs (a kernel, an App route, one request) and asks V8 for the cache of
// everything compiled by then. V8 checks the cache against its own version, its flags and the
// script's length, and ignores a cache that does not match (another node, NODE_OPTIONS with V8
// flags): the script is then compiled as before, only slower. Node 20 has no compile cache of
// its own (module.enableCompileCache is 22).
//
// Imports of other packages: a CommonJS one or a node builtin is require()d when its module
// runs (as before, lazily); an ES module package (@skitai/kernel for @skitai/app) is imported
// by entry.js itself, so the ESM loader evaluates it first, and handed to the modules.
//
// The files tsc writes stay as they are (each package's own tests import them one by one); the
// entry is made from them, so it must be remade after each build: scripts/build.mjs,
// scripts/test.mjs and bench/run.mjs call ensurePackageEntries(), which remakes an entry only
// when a compiled file of its package is newer than it.
//   node scripts/package-entry.mjs           remake the stale ones
//   node scripts/package-entry.mjs --force   remake them all
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The packages that get an entry, in the order they are made (a package's code cache is made by
 * running it, with the entries of the packages it imports already made). `warm` runs in the fresh
 * node that makes the cache, with the package's exports: what a startup script does with it.
 */
export const PACKAGES = [
  { name: '@skitai/kernel', dir: 'kernel', warm: warmKernel },
  { name: '@skitai/xmlrpc', dir: 'lib/xmlrpc', warm: warmXmlrpc },
  { name: '@skitai/app', dir: 'plugins/app', warm: warmApp },
];

/** The files of a package's entry, under its dist/src. */
export function entryFiles(pkg) {
  const dist = path.join(root, pkg.dir, 'dist/src');
  return {
    dist,
    /** entry.js: what `import '<package>'` loads. */
    entry: path.join(dist, 'entry.js'),
    /** The modules, one script that evaluates to the function entry.js calls. */
    modules: path.join(dist, 'entry-modules.js'),
    /** V8's code cache of the modules (made by makeCodeCache below). */
    cache: path.join(dist, 'entry-modules.cache'),
    /** The V8 version that made the cache (another V8 refuses it): for tests and for people reading dist. */
    cacheV8: path.join(dist, 'entry-modules.cache-v8'),
  };
}

const packageNamed = (name) => {
  const pkg = PACKAGES.find((p) => p.name === name);
  if (!pkg) throw new Error(`no entry is made for ${name} (scripts/package-entry.mjs PACKAGES)`);
  return pkg;
};

/** The .js files of dist/src except the entry's (cli.js and the rest are included: cheap). */
function compiledFiles(files, dir = files.dist, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) compiledFiles(files, full, out);
    else if (e.name.endsWith('.js') && full !== files.entry && full !== files.modules) out.push(full);
  }
  return out;
}

/** True when the package's entry is missing or older than a compiled file (or this script). */
export function entryIsStale(name) {
  const files = entryFiles(packageNamed(name));
  if (!fs.existsSync(path.join(files.dist, 'index.js'))) return false; // not built yet: nothing to make
  if (!fs.existsSync(files.entry) || !fs.existsSync(files.modules) || !fs.existsSync(files.cache)) return true;
  const made = Math.min(...[files.entry, files.modules, files.cache].map((f) => fs.statSync(f).mtimeMs));
  if (fs.statSync(fileURLToPath(import.meta.url)).mtimeMs > made) return true;
  return compiledFiles(files).some((f) => fs.statSync(f).mtimeMs > made);
}

const RELATIVE = /^\.\.?\//;

/** One module's key (its path under dist/src, '/'-separated) from an importer's key and a specifier. */
const keyOf = (from, spec) => path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));

/**
 * The module keys reachable from index.js, by static imports and literal relative import()s, and
 * the other packages they import statically. An ES module package among those is imported by
 * entry.js before the modules run, even one that only a module loaded on first use imports.
 */
function reachable(ts, files) {
  const seen = new Set();
  const packages = new Set();
  const todo = ['index.js'];
  while (todo.length) {
    const key = todo.pop();
    if (seen.has(key)) continue;
    seen.add(key);
    const text = fs.readFileSync(path.join(files.dist, key), 'utf8');
    for (const ref of ts.preProcessFile(text, true, true).importedFiles)
      if (RELATIVE.test(ref.fileName)) todo.push(keyOf(key, ref.fileName));
    // Other packages: only those of import and export declarations (an import() of one stays lazy).
    const sf = ts.createSourceFile(key, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
    for (const st of sf.statements)
      if (
        (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) &&
        st.moduleSpecifier &&
        ts.isStringLiteral(st.moduleSpecifier)
      )
        if (!RELATIVE.test(st.moduleSpecifier.text)) packages.add(st.moduleSpecifier.text);
  }
  return { keys: [...seen].sort(), packages: [...packages].sort() };
}

/** True when `spec`, resolved from `dir` as require() would, is an ES module (.mjs, or .js under "type": "module"). */
function isEsModule(spec, dir) {
  if (spec.startsWith('node:')) return false;
  let file;
  try {
    file = createRequire(path.join(dir, 'entry.js')).resolve(spec);
  } catch {
    return false; // a builtin without its prefix, or not installed: require() says so when it runs
  }
  if (file.endsWith('.mjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let d = path.dirname(file); ; d = path.dirname(d)) {
    const json = path.join(d, 'package.json');
    if (fs.existsSync(json)) return JSON.parse(fs.readFileSync(json, 'utf8')).type === 'module';
    if (path.dirname(d) === d) return false;
  }
}

/** The names each module's function takes: a module declaring one of them at its top level cannot run there. */
const RESERVED = new Set(['exports', 'require', '__meta', '__load']);

function refuseReservedNames(ts, sf, file) {
  for (const st of sf.statements) {
    const names = ts.isVariableStatement(st)
      ? st.declarationList.declarations.map((d) => d.name.getText(sf))
      : [st.name?.getText(sf)];
    const clash = names.find((n) => RESERVED.has(n));
    if (clash)
      throw new Error(
        `${path.relative(root, file)} declares \`${clash}\` at its top level: rename it (the entry's module functions take that name)`,
      );
  }
}

/** `import(x)` calls: a literal relative one becomes a lookup in the entry, any other `__import(x)`. */
function rewriteDynamicImports(ts, sf, key) {
  let text = sf.text;
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

/**
 * An ES module package's namespace as the exports object of a compiled ES module (marked
 * __esModule, its names as getters): what the modules' require() calls expect. entry.js holds
 * this function's source.
 */
function asExports(ns) {
  const o = Object.defineProperty({}, '__esModule', { value: true });
  for (const k of Object.keys(ns)) Object.defineProperty(o, k, { enumerable: true, get: () => ns[k] });
  return o;
}

/** The ES module packages among those a package's modules import: entry.js imports them. */
const esModulePackages = (packages, files) => packages.filter((spec) => isEsModule(spec, files.dist));

/** Makes a package's entry from its compiled files. */
export async function writePackageEntry(name) {
  const pkg = packageNamed(name);
  const files = entryFiles(pkg);
  const { default: ts } = await import('typescript');
  const { keys, packages } = reachable(ts, files);
  const esm = esModulePackages(packages, files);
  const index = await import(pathToFileURL(path.join(files.dist, 'index.js')).href);
  const names = Object.keys(index).sort();
  // The modules: one script evaluating to a function of what only an ES module has (its require,
  // its import(), its URL, the ES module packages it imported), which returns the index's exports.
  const out = [
    '// Generated by scripts/package-entry.mjs from the files tsc wrote beside it (do not edit): the',
    `// modules of ${name} in one script, each run on its first use; entry.js compiles it with`,
    '// its code cache (entry-modules.cache). Why: see that script.',
    '(function (__require, __import, __entryUrl, __esm) {',
    'const __defs = {',
  ];
  for (const key of keys) {
    const file = path.join(files.dist, key);
    const sf = ts.createSourceFile(key, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
    refuseReservedNames(ts, sf, file);
    const source = rewriteDynamicImports(ts, sf, key)
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
    '    if (!/^\\.\\.?\\//.test(spec)) return __esm.get(spec) ?? __require(spec);',
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
  // The entry: imports the ES module packages (handed over through asExports), reads the modules
  // and their code cache, compiles, runs, exports the index's names.
  const entry = [
    `// Generated by scripts/package-entry.mjs (do not edit): ${name} is entry-modules.js,`,
    "// compiled with V8's code cache made at build time (entry-modules.cache; V8 ignores one that",
    '// does not match this node and its flags). Why: see that script.',
    ...esm.map((spec, i) => `import * as __esm${i} from ${JSON.stringify(spec)};`),
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
    ...(esm.length
      ? [
          `const __asExports = ${asExports.toString()};`,
          `const __esm = new Map([${esm.map((spec, i) => `[${JSON.stringify(spec)}, __asExports(__esm${i})]`).join(', ')}]);`,
        ]
      : ['const __esm = new Map();']),
    'const __index = __script.runInThisContext()(__require, (spec) => import(spec), import.meta.url, __esm);',
    `export const { ${names.join(', ')} } = __index;`,
    '',
  ];
  // A cache left from other modules would be refused by V8 at best: drop it first.
  fs.rmSync(files.cache, { force: true });
  fs.rmSync(files.cacheV8, { force: true });
  writeAtomically(files.modules, out.join('\n'));
  writeAtomically(files.entry, entry.join('\n'));
  const cache = makeCodeCache(pkg);
  return { name, modules: keys.length, exports: names.length, cache };
}

/** Writes through a temporary file and a rename: a process loading the package meanwhile sees the old file or the new one. */
function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * Makes the package's cache in a fresh `node` (no NODE_OPTIONS: V8 refuses a cache made under
 * other flags) running this script with --code-cache: returns its size in bytes, or an error
 * message (the entry works without a cache, only slower).
 */
function makeCodeCache(pkg) {
  const files = entryFiles(pkg);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--code-cache', pkg.name], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status === 0 && fs.existsSync(files.cache)) return fs.statSync(files.cache).size;
  const why = `no code cache (${r.error?.message ?? `exit ${r.status ?? r.signal}`}: ${(r.stderr ?? '').trim().slice(-300)})`;
  // Said where every build sees it: the package still loads, only slower, and the next build tries again.
  process.stderr.write(`skitai: ${path.relative(root, files.entry)}: ${why}\n`);
  return why;
}

/** A kernel set up by `mount`, run on a port of its own, and one GET to it. */
async function oneRequest(Kernel, mount) {
  const { default: http } = await import('node:http');
  const kernel = new Kernel();
  mount(kernel);
  const listening = await kernel.run({ address: '127.0.0.1', port: 0, argv: false });
  if (!listening) throw new Error('the kernel did not start');
  await new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: listening.port, path: '/' }, (res) => res.resume().on('end', resolve))
      .on('error', reject);
  });
}

/** The kernel's warm start: run(), a mounted handler, one request. */
async function warmKernel({ Kernel }) {
  await oneRequest(Kernel, (kernel) => kernel.mount('/', (_req, res) => res.end('ok')));
}

/** The codec's both ways: a call serialized and parsed back. */
async function warmXmlrpc({ serializeMethodCall, parseMethodCall }) {
  parseMethodCall(serializeMethodCall('add', [1, 'two', { three: [3.5, true] }]));
}

/** An App's warm start: a route mounted in a kernel, one request. */
async function warmApp({ App }) {
  const { Kernel } = await import('@skitai/kernel');
  const app = new App();
  app.route('/', async () => 'ok');
  await oneRequest(Kernel, (kernel) => kernel.mount('/', app));
}

/**
 * In the fresh node: compiles the package's modules as entry.js does, runs them the way a
 * startup script does (pkg.warm), then writes V8's cache of every function of the script
 * compiled by then, so a start finds them compiled.
 */
async function writeCodeCache(name) {
  const pkg = packageNamed(name);
  const files = entryFiles(pkg);
  const { default: vm } = await import('node:vm');
  const script = new vm.Script(fs.readFileSync(files.modules, 'utf8'), { filename: files.modules });
  const entryUrl = pathToFileURL(files.entry).href;
  // The ES module packages the entry imports, handed over as it does.
  const { default: ts } = await import('typescript');
  const esm = new Map();
  for (const spec of esModulePackages(reachable(ts, files).packages, files))
    esm.set(spec, asExports(await import(spec)));
  const exports = script.runInThisContext()(createRequire(entryUrl), (spec) => import(spec), entryUrl, esm);
  await pkg.warm(exports);
  writeAtomically(files.cache, script.createCachedData());
  writeAtomically(files.cacheV8, process.versions.v8);
  process.exit(0);
}

/** Remakes the entries a build made stale (cheap when none is: one stat per file). */
export async function ensurePackageEntries() {
  const made = [];
  for (const pkg of PACKAGES) if (entryIsStale(pkg.name)) made.push(await writePackageEntry(pkg.name));
  return made;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--code-cache');
  if (at !== -1) await writeCodeCache(process.argv[at + 1]);
  const made = [];
  if (process.argv.includes('--force')) for (const pkg of PACKAGES) made.push(await writePackageEntry(pkg.name));
  else made.push(...(await ensurePackageEntries()));
  for (const m of made)
    process.stderr.write(
      `skitai: wrote ${path.relative(root, entryFiles(packageNamed(m.name)).entry)} (${m.modules} modules, ${m.exports} exports; ${typeof m.cache === 'number' ? `code cache ${m.cache} bytes` : m.cache})\n`,
    );
  if (made.length === 0) process.stderr.write('skitai: the package entries are up to date\n');
}
