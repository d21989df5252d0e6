// Opens N keep-alive connections to 127.0.0.1:<port>, sends one GET on each, reads the
// response, then holds every connection idle. Prints {"open":n,"failed":f,"ms":t} once all are
// settled, then holds them until stdin closes, SIGTERM, or --hold seconds pass (bounded).
// usage: node idle-conns.mjs <port> [--count 10000] [--concurrency 200] [--hold 60] [--path /]
import net from 'node:net';
import process from 'node:process';

const port = Number(process.argv[2]);
const opt = { count: 10000, concurrency: 200, hold: 60, path: '/' };
for (let i = 3; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const count = Number(opt.count),
  concurrency = Number(opt.concurrency),
  hold = Number(opt.hold);
const request = `GET ${opt.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`;

const sockets = [];
let started = 0,
  open = 0,
  failed = 0,
  closedEarly = 0;
const t0 = Date.now();

function one() {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (ok) {
        open++;
        sockets.push(s);
      } else {
        failed++;
        s.destroy();
      }
      resolve();
    };
    const timer = setTimeout(() => finish(false), 15000);
    s.setNoDelay(true);
    s.on('connect', () => s.write(request));
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) finish(buf.startsWith('HTTP/1.1 200'));
    });
    s.on('error', () => finish(false));
    s.on('close', () => {
      if (done) closedEarly++;
      else finish(false);
    });
  });
}

async function lane() {
  while (started < count) {
    started++;
    await one();
  }
}

await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
process.stdout.write(JSON.stringify({ open, failed, ms: Date.now() - t0 }) + '\n');

const end = () => {
  for (const s of sockets) s.destroy();
  process.stdout.write(JSON.stringify({ closedEarly }) + '\n');
  process.exit(0);
};
setTimeout(end, hold * 1000);
process.on('SIGTERM', end);
process.stdin.on('end', end);
process.stdin.resume();
