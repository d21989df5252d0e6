// Server CPU time per echoed message: bare `ws` vs an App wsRoute on the kernel, measured from
// /proc/<pid>/stat (user + system), which a busy machine disturbs far less than req/s.
//   node plugins/websocket/bench/echo-cpu.mjs [messages=200000] [rounds=3]
// Uses the benchmark suite's servers (bench/servers/ws-bare.mjs, skitai.mjs ws-echo); their stdin stays open (they stop when it ends).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TOTAL = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const CONNECTIONS = 50;
const DEPTH = 4;
const TICKS = 100; // USER_HZ

function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

async function start(script, kind) {
  const child = spawn(process.execPath, [path.join(root, 'bench/servers', script), kind, '--port', '0'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /"ready":true,"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`${script} exited: ${out}`)));
  });
  return { child, port };
}

async function load(port, total) {
  const per = Math.ceil(total / CONNECTIONS);
  const payload = 'x'.repeat(32);
  await Promise.all(
    Array.from(
      { length: CONNECTIONS },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, { perMessageDeflate: false });
          let sent = 0;
          let got = 0;
          ws.on('open', () => {
            for (; sent < DEPTH; sent++) ws.send(payload);
          });
          ws.on('message', () => {
            got++;
            if (sent < per) {
              ws.send(payload);
              sent++;
            }
            if (got === per) {
              ws.close();
              resolve();
            }
          });
          ws.on('error', reject);
        }),
    ),
  );
}

async function measure(script, kind) {
  const { child, port } = await start(script, kind);
  await load(port, 20_000); // warm-up
  const c0 = cpuMs(child.pid);
  const t0 = Date.now();
  await load(port, TOTAL);
  const cpu = cpuMs(child.pid) - c0;
  const wall = Date.now() - t0;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { cpuUsPerMsg: (cpu * 1000) / TOTAL, wall };
}

const results = { bare: [], skitai: [] };
for (let r = 0; r < ROUNDS; r++) {
  results.bare.push(await measure('ws-bare.mjs', 'echo'));
  results.skitai.push(await measure('skitai.mjs', 'ws-echo'));
  console.log(
    `round ${r + 1}: bare ${results.bare[r].cpuUsPerMsg.toFixed(2)} us/msg (${results.bare[r].wall} ms), skitai ${results.skitai[r].cpuUsPerMsg.toFixed(2)} us/msg (${results.skitai[r].wall} ms)`,
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const b = median(results.bare.map((x) => x.cpuUsPerMsg));
const s = median(results.skitai.map((x) => x.cpuUsPerMsg));
console.log(
  `median server CPU per message: bare ws ${b.toFixed(2)} us, skitai wsRoute ${s.toFixed(2)} us; messages per CPU-second ratio skitai/bare = ${(b / s).toFixed(3)}`,
);
