// Shared helpers for the scenario servers: argument parsing, the ready line, graceful stop.
// Every server prints exactly one JSON line on stdout: {"ready":true,"port":N} or {"skip":"why"}.
import fs from 'node:fs';
import process from 'node:process';

export function args() {
  const out = { kind: process.argv[2] || 'hello', port: 0, address: '127.0.0.1' };
  for (let i = 3; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === '--port') out.port = Number(process.argv[++i]);
    else if (a === '--dir') out.dir = process.argv[++i];
    else if (a === '--workers') out.workers = Number(process.argv[++i]);
    else if (a === '--backend') out.backend = process.argv[++i];
    else if (a === '--mode') out.mode = process.argv[++i];
    else if (a === '--cert') out.cert = process.argv[++i];
    else if (a === '--key') out.key = process.argv[++i];
  }
  return out;
}

export function ready(port, extra = {}) {
  process.stdout.write(JSON.stringify({ ready: true, port, pid: process.pid, ...extra }) + '\n');
}

export function skip(reason) {
  process.stdout.write(JSON.stringify({ skip: reason }) + '\n');
  process.exit(0);
}

/** Stop on SIGTERM/SIGINT with a normal exit, so `--cpu-prof` writes its profile. */
export function onStop(stop) {
  let stopping = false;
  const handler = async () => {
    if (stopping) return;
    stopping = true;
    const t = setTimeout(() => process.exit(0), 3000);
    t.unref();
    try {
      await stop();
    } catch {
      /* exiting anyway */
    }
    process.exit(0);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  // The harness closes our stdin when it goes away: never outlive it.
  process.stdin.on('end', handler);
  process.stdin.on('error', handler);
  process.stdin.resume();
}

export const HELLO = 'Hello World';
/**
 * The Server header the kernel sends (`Skitai/<kernel version>`): the baselines send it too, so
 * that every target compares servers answering the same bytes (bench/run.mjs checks it).
 */
export const SERVER = `Skitai/${JSON.parse(fs.readFileSync(new URL('../../kernel/package.json', import.meta.url), 'utf8')).version}`;
export const user = (id) => ({ id, name: `user${id}`, active: true });

// The head an App route answers a plain object with: what the node:http baselines of the
// was-get and db scenarios send too, so that every server of those scenarios writes the same
// bytes (the harness compares the heads of each target's two servers before the load).
const kernelVersion = JSON.parse(
  fs.readFileSync(new URL('../../kernel/package.json', import.meta.url), 'utf8'),
).version;
export function writeJsonLikeApp(res, body) {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    server: `Skitai/${kernelVersion}`,
  });
  res.end(body);
}
