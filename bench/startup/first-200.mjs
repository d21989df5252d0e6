// Runs a cold-start script (bench/startup/cold-*.mjs, or any script taking --port) in this
// process, asks GET <path> on a fresh connection until a 200, then exits: the whole process is
// "node script.mjs to the first 200", so a counter around it (instructions.mjs beside this file:
// valgrind) measures just that.
//   node bench/startup/first-200.mjs <script> [path]     (prints ms to the first 200)
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { statusOf } from '../lib/status-of.mjs';

const script = path.resolve(process.argv[2]);
const urlPath = process.argv[3] ?? '/hello';

/** A free port: listen on 0, read it back, close. */
const port = await new Promise((resolve, reject) => {
  const s = net.createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const { port: p } = s.address();
    s.close(() => resolve(p));
  });
});
// As if `node <script> --port N` ran: kernel.run() takes the script's folder from argv[1].
process.argv.splice(1, process.argv.length, script, '--port', String(port));

await import(pathToFileURL(script).href);
// Bounded: a script that never listens (it failed to start, and kept the process alive) ends here.
const giveUp = setTimeout(() => {
  console.error(`no 200 on ${urlPath} in 300 s`);
  process.exit(1);
}, 300_000);
giveUp.unref();
for (;;) {
  const status = await statusOf(port, urlPath);
  if (status === 200) break;
  if (status !== null) throw new Error(`GET ${urlPath} answered ${status}`);
  await new Promise((r) => setImmediate(r)); // not listening yet: try again on the next turn
}
console.log(`first 200 after ${performance.now().toFixed(0)} ms`);
// --builtins: the node built-in modules loaded by then, one a line.
if (process.execArgv.includes('--builtins') || process.env.FIRST200_BUILTINS)
  for (const m of process.moduleLoadList) if (m.startsWith('NativeModule ')) console.log(m.slice(13));
process.exit(0);
