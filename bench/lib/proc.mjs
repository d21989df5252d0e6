// Starting pinned server processes, waiting for them, reading their memory, stopping them.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH_DIR);

let hasTaskset = null;
export function tasksetAvailable() {
  if (hasTaskset === null) hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
  return hasTaskset;
}

/** The command line with CPU pinning when taskset exists; cpus is like '0' or '0,1'. */
let niceness = 0;
/** Run servers and load generators at this niceness (negative needs root): --nice. */
export function setNice(n) {
  niceness = n;
}

export function pinned(cpus, cmd, args) {
  let c = cmd,
    a = args;
  if (cpus != null && tasksetAvailable()) [c, a] = ['taskset', ['-c', String(cpus), c, ...a]];
  if (niceness) [c, a] = ['nice', ['-n', String(niceness), c, ...a]];
  return [c, a];
}

/** Raise the soft open-files limit to the hard one for a child (10,000 idle connections). */
export function withOpenFiles(cmd, args) {
  const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
  return ['sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${[cmd, ...args].map(q).join(' ')}`]];
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function waitForPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} did not open in ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

const live = new Set();
function killAll() {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });

/**
 * Start a server process. It must print one JSON line: {"ready":true,"port":N} or {"skip":"why"};
 * or, with readyPort, just open that port (nginx). Resolves to a handle, or {skip}.
 */
export async function startServer({
  name,
  cmd,
  args,
  cpus,
  env,
  readyPort,
  timeoutMs = 15000,
  cwd = ROOT,
  openFiles = false,
}) {
  let [c, a] = pinned(cpus, cmd, args);
  if (openFiles) [c, a] = withOpenFiles(c, a);
  const child = spawn(c, a, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise((r) =>
    child.once('exit', (code, sig) => {
      live.delete(child);
      r({ code, sig });
    }),
  );

  const first = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ error: `${name}: not ready after ${timeoutMs} ms` }), timeoutMs);
    const done = (v) => {
      clearTimeout(timer);
      resolve(v);
    };
    exited.then(({ code, sig }) => done({ error: `${name}: exited (${code ?? sig}) before ready\n${stderr.trim()}` }));
    if (readyPort) {
      waitForPort(readyPort, timeoutMs).then(
        () => done({ ready: true, port: readyPort }),
        (e) => done({ error: `${name}: ${e.message}\n${stderr.trim()}` }),
      );
      child.stdout.resume();
    } else {
      let buf = '';
      const onData = (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line.startsWith('{')) continue;
          try {
            const msg = JSON.parse(line);
            if (msg.ready || msg.skip) {
              child.stdout.off('data', onData);
              child.stdout.resume();
              done(msg);
              return;
            }
          } catch {
            /* not ours */
          }
        }
      };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', onData);
    }
  });

  if (first.skip || first.error) {
    await stop(child, exited);
    return first.skip ? { skip: first.skip } : { error: first.error };
  }
  return {
    name,
    pid: child.pid,
    port: first.port,
    info: first,
    child,
    exited,
    stderr: () => stderr,
    tree: () => processTree(child.pid),
    memory: () => memoryOf(processTree(child.pid)),
    cpu: () => cpuSeconds(processTree(child.pid)),
    cpuDetail: () => cpuDetail(processTree(child.pid)),
    waited: () => runqueueWaitSeconds(processTree(child.pid)),
    stop: () => stop(child, exited),
  };
}

async function stop(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  try {
    child.kill('SIGTERM');
  } catch {
    /* gone */
  }
  try {
    child.stdin.end();
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }, 5000);
  const r = await exited;
  clearTimeout(t);
  // children (cluster workers, nginx workers) that outlived their parent
  return r;
}

/** pid and all its descendants, from /proc. */
export function processTree(pid) {
  const parents = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(statFields(stat)[1]);
      if (!parents.has(ppid)) parents.set(ppid, []);
      parents.get(ppid).push(Number(d));
    } catch {
      /* exited */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const c of parents.get(out[i]) || []) out.push(c);
  return out;
}

/** Sum over the processes of VmHWM (peak RSS) and VmRSS (current RSS), in KiB. */
export function memoryOf(pids) {
  let hwm = 0,
    rss = 0;
  for (const pid of pids) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      hwm += Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] || 0);
      rss += Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] || 0);
    } catch {
      /* exited */
    }
  }
  return { hwmKiB: hwm, rssKiB: rss, processes: pids.length };
}

/** Busy and total jiffies per CPU from /proc/stat: { '0': {busy, total}, ... }. */
export function cpuStat() {
  const out = {};
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal
    const v = m[2].split(/\s+/).map(Number);
    const idle = v[3] + (v[4] || 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[m[1]] = {
      busy: total - idle,
      total,
      task: v[0] + v[1] + v[2],
      irq: (v[5] || 0) + (v[6] || 0),
      steal: v[7] || 0,
    };
  }
  return out;
}

/** Busy percentage of each CPU in `cpus` ('0' or '0,1') between two cpuStat() readings. */
export function busyPct(a, b, cpus, field = 'busy') {
  let busy = 0,
    total = 0;
  for (const c of String(cpus).split(',')) {
    if (!a[c] || !b[c]) continue;
    busy += b[c][field] - a[c][field];
    total += b[c].total - a[c].total;
  }
  return total ? (100 * busy) / total : NaN;
}

/**
 * Seconds the processes' main threads spent runnable but waiting for a CPU (/proc/<pid>/
 * schedstat, second field): how much other load held the server back. Only main threads:
 * a server's own helper threads (libuv's pool) share its pinned core and would count its
 * own file work as waiting.
 */
export function runqueueWaitSeconds(pids) {
  let ns = 0;
  for (const pid of pids) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) || 0;
    } catch {
      /* gone */
    }
  }
  return ns / 1e9;
}

/**
 * Where the processes' CPU time went so far, in seconds: user and system time, the part of it
 * spent by threads other than each process's main thread (V8's compiler and GC helpers,
 * libuv's pool), and minor page faults.
 */
export function cpuDetail(pids) {
  const out = { user: 0, sys: 0, helpers: 0, minflt: 0 };
  for (const pid of pids) {
    try {
      const f = statFields(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      const main = statFields(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
      out.user += Number(f[11]) / CLK_TCK;
      out.sys += Number(f[12]) / CLK_TCK;
      out.helpers += (Number(f[11]) + Number(f[12]) - Number(main[11]) - Number(main[12])) / CLK_TCK;
      out.minflt += Number(f[7]);
    } catch {
      /* exited */
    }
  }
  return out;
}
const statFields = (stat) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');

/** CPU seconds (user + system) used so far by the processes. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = statFields(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* exited */
    }
  }
  return ticks / CLK_TCK;
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** Run a command to completion with a hard time limit; resolves {code, stdout, stderr}. */
export function runBounded(cmd, args, { timeoutMs, cwd = ROOT, env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const t = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.on('exit', (code, sig) => {
      clearTimeout(t);
      live.delete(child);
      resolve({ code, sig, stdout, stderr });
    });
  });
}
