// What each process says about itself for a status page, and the request/reply that gathers
// it: a worker asks the master, the master asks every worker and background process and
// answers with all of it. Nothing here runs unless a status is asked for.
import type { Kernel } from '../kernel.js';
import type { RequestMetricsSnapshot } from '../http/metrics.js';
import process from 'node:process';

/** One Prometheus sample: labels and a value. */
export interface StatusSample {
  labels?: Record<string, string>;
  value: number;
}

/** A metric family a section exports (Prometheus naming: counters end in `_total`). */
export interface StatusMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: StatusSample[];
}

/**
 * A plugin's part of the status: `data` is shown on the page and in the JSON (an object is a
 * list of names and values, an array of objects a table), `metrics` go to the Prometheus text.
 * Plain data only: it crosses processes.
 */
export interface StatusSection {
  /** A short stable key, e.g. 'services'. */
  name: string;
  /** The heading on the page. */
  title: string;
  data: unknown;
  metrics?: StatusMetric[];
}

/** One process: the master, a worker, a single process or a background process. */
export interface ProcessReport {
  /** 'M', 'W0', 'W1' ... or a background process's name. */
  id: string;
  role: 'single' | 'master' | 'worker' | 'background';
  pid: number;
  /** When it started (ms since the epoch). */
  startedAt: number;
  /** Resident set size, bytes. */
  rss: number;
  /** CPU time used so far, seconds. */
  cpu: { user: number; system: number };
  /** Open HTTP connections (serving processes). */
  connections?: number;
  /** Request counters, when a plugin turned metrics on. */
  requests?: RequestMetricsSnapshot;
  /** Times this worker slot (or background process) was started again, and the last reason. */
  restarts?: number;
  lastRestart?: { at: number; reason: string };
  /** Set when the process did not answer. */
  error?: string;
  sections: StatusSection[];
}

/** How long a status waits for a process to answer. */
export const STATUS_TIMEOUT_MS = 2000;

/** This process's own report: numbers, then each `status` tap's sections. */
export async function localReport(kernel: Kernel, id: string, role: ProcessReport['role']): Promise<ProcessReport> {
  const sections: StatusSection[] = [];
  if (kernel.hooks.status.isUsed()) await kernel.hooks.status.promise(sections);
  const report = processNumbers(id, role, sections);
  if (role !== 'master') {
    report.connections = kernel.openConnections();
    const metrics = kernel.metrics;
    if (metrics !== undefined) report.requests = metrics.snapshot();
  }
  return report;
}

const startedAt = Date.now() - process.uptime() * 1000;

export function processNumbers(id: string, role: ProcessReport['role'], sections: StatusSection[]): ProcessReport {
  const cpu = process.cpuUsage();
  return {
    id,
    role,
    pid: process.pid,
    startedAt: Math.round(startedAt),
    rss: process.memoryUsage.rss(),
    cpu: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
    sections,
  };
}

/** A request/reply over IPC: `collect` asks each target and resolves with what came back in time. */
export class StatusRequests {
  private next = 1;
  private readonly waiting = new Map<number, (key: string, value: unknown) => void>();

  collect(
    targets: ReadonlyArray<{ key: string; ask: (id: number) => void }>,
    timeoutMs = STATUS_TIMEOUT_MS,
  ): Promise<Map<string, unknown>> {
    const got = new Map<string, unknown>();
    if (targets.length === 0) return Promise.resolve(got);
    const id = this.next++;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(got);
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.waiting.set(id, (key, value) => {
        if (!targets.some((t) => t.key === key)) return;
        got.set(key, value);
        if (got.size === targets.length) done();
      });
      for (const t of targets) {
        try {
          t.ask(id);
        } catch {
          /* gone: counted as no answer */
        }
      }
    });
  }

  /** An answer came (unknown or late ones are dropped). */
  answer(id: unknown, key: string, value: unknown): void {
    if (typeof id === 'number') this.waiting.get(id)?.(key, value);
  }
}

export function noAnswer(id: string, role: ProcessReport['role'], pid: number | undefined): ProcessReport {
  return {
    id,
    role,
    pid: pid ?? 0,
    startedAt: 0,
    rss: 0,
    cpu: { user: 0, system: 0 },
    sections: [],
    error: `no answer within ${STATUS_TIMEOUT_MS / 1000} s`,
  };
}

export function isReport(value: unknown): value is ProcessReport {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ProcessReport).id === 'string' &&
    Array.isArray((value as ProcessReport).sections)
  );
}
