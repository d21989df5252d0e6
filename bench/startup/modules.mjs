// What a startup script loads: `node bench/startup/modules.mjs [script]` (default: the
// Express-only script beside this file) prints the modules of each @skitai package it loaded,
// the time from process start to its first answer, and the RSS then.
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const { port1, port2 } = new MessageChannel();
const urls = new Set();
port1.on('message', (url) => urls.add(url));
port1.unref();
register(new URL('./module-hook.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });

const script = process.argv[2]
  ? path.resolve(process.argv[2])
  : fileURLToPath(new URL('./express-only.mjs', import.meta.url));
const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
// As if `node <script> ...` ran: kernel.run() takes the script's folder from argv[1] (the demo).
process.argv.splice(1, 2, script);
await import(pathToFileURL(script).href);
const ms = performance.now();
const rss = process.memoryUsage.rss();
// Messages from the hook thread arrive asynchronously: let them drain.
await new Promise((r) => setImmediate(r));
await new Promise((r) => setTimeout(r, 50)); // the hook thread's last messages

// CommonJS modules loaded by require() (Express and its dependencies) are in require's cache.
for (const file of Object.keys(createRequire(import.meta.url).cache)) urls.add(pathToFileURL(file).href);
const byPackage = new Map();
let total = 0;
for (const url of urls) {
  if (!url.startsWith('file:')) continue;
  total++;
  const rel = path.relative(root, fileURLToPath(url));
  const m = /^(kernel|lib\/[^/]+|plugins\/[^/]+)\//.exec(rel) ?? /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(rel);
  const key = m ? m[1] : 'other';
  byPackage.set(key, (byPackage.get(key) ?? 0) + 1);
}
console.log(`script: ${path.relative(process.cwd(), script)}`);
console.log(`modules loaded (files): ${total}`);
for (const [key, n] of [...byPackage].sort((a, b) => b[1] - a[1])) console.log(`  ${key.padEnd(28)} ${n}`);
console.log(`process start to first answer and stop: ${ms.toFixed(0)} ms; RSS then: ${(rss / 1048576).toFixed(1)} MiB`);
