// Cold start: time from spawning `node <script>` to its first 200, and its RSS then.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pinned, memoryOf, ROOT } from './proc.mjs';
import { statusOf } from './status-of.mjs';

/**
 * Start spec ({cmd, args, env, cwd}) pinned to `cpus`, ask GET p every 2 ms until a 200 (a
 * refused connection is tried again; another status fails the start), read its RSS, kill it.
 * -> { startMs, rssKiB } or { error }.
 */
export async function coldStart(spec, { cpus, path: p, timeoutMs = 30_000 }) {
  const [c, a] = pinned(cpus, spec.cmd, spec.args);
  let stderr = '';
  const t0 = performance.now();
  const child = spawn(c, a, {
    cwd: spec.cwd ?? ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  const exited = new Promise((r) => child.once('exit', (code, sig) => r(code ?? sig)));
  let gone = null;
  exited.then((v) => {
    gone = v;
  });
  const port = Number(spec.args[spec.args.indexOf('--port') + 1]);
  try {
    for (;;) {
      if (gone !== null)
        return { error: `exited (${gone}) before answering: ${stderr.trim().split('\n').slice(-2).join(' | ')}` };
      if (performance.now() - t0 > timeoutMs) return { error: `no 200 in ${timeoutMs / 1000} s` };
      const status = await statusOf(port, p);
      if (status === 200) {
        const startMs = performance.now() - t0;
        return { startMs, rssKiB: memoryOf([child.pid]).rssKiB };
      }
      if (status) return { error: `GET ${p} answered ${status}` };
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    if (gone === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}
