// Loaded with `node --import` by `npm run bench -- --tail`: GC pauses and event-loop delay of
// this server, written on SIGWINCH (a signal node and the kernel leave alone) to
// <tmpdir>/skitai-bench-tail-<pid>.json, then reset. Not loaded in any other mode.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();
let gc, t0;
const reset = () => {
  gc = { count: 0, major: 0, totalMs: 0, maxMs: 0, pauses: [] };
  t0 = performance.now();
  eld.reset();
};
reset();
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    gc.totalMs += e.duration;
    gc.maxMs = Math.max(gc.maxMs, e.duration);
    gc.pauses.push(e.duration);
  }
}).observe({ entryTypes: ['gc'] });

process.on('SIGWINCH', () => {
  const ms = (ns) => ns / 1e6;
  const p = [...gc.pauses].sort((a, b) => a - b);
  const out = {
    seconds: (performance.now() - t0) / 1000,
    gc: {
      count: gc.count,
      major: gc.major,
      totalMs: gc.totalMs,
      maxMs: gc.maxMs,
      p99Ms: p.length ? p[Math.min(p.length - 1, Math.floor(p.length * 0.99))] : 0,
    },
    loopDelay: {
      meanMs: ms(eld.mean),
      p50Ms: ms(eld.percentile(50)),
      p99Ms: ms(eld.percentile(99)),
      maxMs: ms(eld.max),
    },
    heapUsedMiB: process.memoryUsage().heapUsed / 1048576,
  };
  fs.writeFileSync(path.join(os.tmpdir(), `skitai-bench-tail-${process.pid}.json`), JSON.stringify(out));
  reset();
});
