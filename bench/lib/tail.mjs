// `--tail`: what makes a server's latency tail. The server runs with `--import` of
// bench/servers/tail-probe.mjs, which records GC pauses (perf_hooks 'gc' entries) and the
// event-loop delay histogram (monitorEventLoopDelay); on SIGWINCH it writes them since the
// last SIGWINCH to <tmpdir>/skitai-bench-tail-<pid>.json and starts over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_DIR } from './proc.mjs';

export const tailModule = path.join(BENCH_DIR, 'servers', 'tail-probe.mjs');

/** Ask the server for its numbers since the last call; resolves them (null if none came). */
export async function readTail(pid) {
  const file = path.join(os.tmpdir(), `skitai-bench-tail-${pid}.json`);
  fs.rmSync(file, { force: true });
  process.kill(pid, 'SIGWINCH');
  for (let i = 0; i < 100; i++) {
    await sleep(20); // the server writes the file from its own event loop: poll for it, bounded (2 s)
    try {
      const j = JSON.parse(fs.readFileSync(file, 'utf8'));
      fs.rmSync(file, { force: true });
      return j;
    } catch {
      /* not yet */
    }
  }
  return null;
}
