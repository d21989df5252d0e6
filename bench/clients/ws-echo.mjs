// A lean WebSocket echo load generator on raw sockets (no ws library, so that the client costs
// far less than the servers it measures): C connections, each keeping D messages in flight;
// each reply is timed. Prints {"rps", "p99ms", "p50ms", "total", "errors"} as JSON.
// usage: node ws-echo.mjs ws://127.0.0.1:PORT/path [--seconds 10] [--connections 50] [--depth 4] [--check]
import net from 'node:net';
import { maskedTextFrame, upgradeRequest } from './ws-wire.mjs';
import process from 'node:process';

const url = new URL(process.argv[2]);
const opt = { seconds: 10, connections: 50, depth: 4, check: false };
for (let i = 3; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, '');
  if (k === 'check') opt.check = true;
  else opt[k] = Number(process.argv[++i]);
}
if (opt.check) {
  opt.connections = 1;
  opt.depth = 1;
}

const PAYLOAD = Buffer.from('Hello World');
const FRAME = maskedTextFrame(PAYLOAD);

let lat = new Float64Array(1 << 20);
let n = 0,
  errors = 0,
  bad = 0;
const record = (ms) => {
  if (n === lat.length) {
    const b = new Float64Array(lat.length * 2);
    b.set(lat);
    lat = b;
  }
  lat[n++] = ms;
};
let sending = true;

function connection() {
  return new Promise((resolve) => {
    const s = net.connect({ host: url.hostname, port: Number(url.port) });
    s.setNoDelay(true);
    const sent = [];
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const send = () => {
      sent.push(performance.now());
      s.write(FRAME);
    };
    s.on('connect', () => {
      s.write(upgradeRequest(`${url.pathname}${url.search}`, url.host));
    });
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) {
          errors++;
          s.destroy();
          resolve();
          return;
        }
        upgraded = true;
        buf = buf.subarray(end + 4);
        for (let i = 0; i < opt.depth; i++) send();
      }
      while (buf.length >= 2) {
        const op = buf[0] & 0x0f;
        let len = buf[1] & 0x7f,
          hdr = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          hdr = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(buf.readBigUInt64BE(2));
          hdr = 10;
        }
        if (buf.length < hdr + len) break;
        const payload = buf.subarray(hdr, hdr + len);
        buf = buf.subarray(hdr + len);
        if (op === 0x1 || op === 0x2) {
          const t = sent.shift();
          if (t !== undefined) record(performance.now() - t);
          if (!payload.equals(PAYLOAD)) bad++;
          if (opt.check) {
            s.destroy();
            resolve();
            return;
          }
          if (sending) send();
          else if (sent.length === 0) {
            s.end();
            resolve();
            return;
          }
        } else if (op === 0x8) {
          s.destroy();
          resolve();
          return;
        }
        // pings (0x9) and pongs are ignored: runs are shorter than any keep-alive
      }
    });
    s.on('error', () => {
      errors++;
      resolve();
    });
    s.on('close', () => resolve());
  });
}

const t0 = performance.now();
const hard = setTimeout(
  () => {
    report();
    process.exit(0);
  },
  (opt.check ? 5 : opt.seconds + 10) * 1000,
);
let elapsed = 0;
setTimeout(
  () => {
    sending = false;
    elapsed = (performance.now() - t0) / 1000;
  },
  opt.check ? 5000 : opt.seconds * 1000,
).unref();
await Promise.all(Array.from({ length: opt.connections }, connection));
clearTimeout(hard);
report();

function report() {
  const secs = elapsed || (performance.now() - t0) / 1000;
  const v = lat.subarray(0, n).sort();
  const q = (p) => (n ? v[Math.min(n - 1, Math.floor(p * n))] : NaN);
  process.stdout.write(JSON.stringify({ rps: n / secs, p99ms: q(0.99), p50ms: q(0.5), total: n, errors, bad }) + '\n');
  if (opt.check) process.exitCode = n === 1 && bad === 0 ? 0 : 1;
}
