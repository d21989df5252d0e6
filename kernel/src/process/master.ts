import cluster, { type Worker } from 'node:cluster';
import fs from 'node:fs';
import { workerExecArgv } from './exec-argv.js';
import os from 'node:os';
import path from 'node:path';
import type { Kernel, Listening, RunOptions } from '../kernel.js';
import type { CommandLine } from '../run/argv.js';
import { Logs } from '../log/logger.js';
import { scheduleDailyRotation } from '../log/rotation.js';
import { setTitle } from './title.js';
import { RestartPolicy } from './restart-policy.js';
import { BackgroundProcesses } from './background.js';
import { watchTree } from './watch.js';
import { isSkitaiMessage, type MasterMessage, type WorkerMessage } from './messages.js';
import { isReport, localReport, noAnswer, StatusRequests, type ProcessReport } from './status.js';
import process from 'node:process';

type State = 'starting' | 'ready' | 'retiring';

interface WorkerRecord {
  worker: Worker;
  slot: number;
  state: State;
  /** Replace it if it dies (false for a reload's candidate until it is ready). */
  replace: boolean;
  startError?: { code: string | undefined; message: string };
  over: number;
  /** Messages for it that came while it was starting (it listens to none before it is ready). */
  pending: MasterMessage[];
  /** When it last reported its CPU use (or became ready). */
  lastReport: number;
  ready: Promise<void>;
  onReady: () => void;
  onFail: (err: Error) => void;
}

export interface MasterHooks {
  /** Once every worker of the first generation listens (the daemon writes its pid file here). */
  ready?: (listening: Listening) => void;
  /** Just before the master exits. */
  exit?: () => void;
}

const VERB_ARGS = new Set(['start', '-d', 'stop', '-s', 'restart', '-r', 'status']);

/**
 * The master of N workers: binds through the workers' listen (node:cluster shares one
 * socket; the master serves nothing), replaces workers that die (with a backoff and a limit
 * per period), reloads them one at a time on SIGHUP, stops them gracefully on SIGTERM/SIGINT,
 * runs the background processes, relays broadcasts and watches the CPU critical point.
 */
export async function runMaster(
  kernel: Kernel,
  options: RunOptions,
  cli: CommandLine,
  count: number,
  hooks: MasterHooks = {},
): Promise<Listening | undefined> {
  const model = kernel.processModel;
  model.role = 'master';
  setTitle('master');
  process.chdir(kernel.getswd());
  const logpath = options.logpath ? kernel.abspath(options.logpath) : undefined;
  // The master is the one process that renames the shared log files (at midnight, or on
  // SIGUSR2); its workers only reopen theirs when told.
  kernel.logs = new Logs({ logpath, verbose: cli.verbose || options.verbose, rotation: 'scheduled' });
  const log = (level: 'info' | 'warn' | 'error', message: string) =>
    kernel.logs.log('server', level, `master: ${message}`);
  const stopDeadline = kernel.getSettings().stopDeadline;

  const records = new Map<number, WorkerRecord>();
  const policies = new Map<number, RestartPolicy>();
  const cooldownUntil = new Map<number, number>();
  let stopping = false;
  let everReady = false;
  let listening: Listening | undefined;
  let luFile: string | undefined;

  const cleanup = () => {
    if (luFile) {
      try {
        fs.unlinkSync(luFile);
      } catch {
        /* gone */
      }
    }
    hooks.exit?.();
  };

  const fatal = (message: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`skitai: ${message}\n`);
    kernel.logs.log('server', 'error', `master: ${message}`);
    for (const rec of records.values()) {
      try {
        rec.worker.process.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    void background.stopAll();
    cleanup();
    // Give the log a moment to reach its file.
    setTimeout(() => process.exit(1), 100);
  };

  // Plugins run their apply() in the master too, so that background processes they register
  // are known here (their startup taps run only in workers). Background processes start
  // once the workers listen (not at all if they cannot).
  const background = new BackgroundProcesses(log);
  model.background = undefined;
  try {
    await kernel.plugins.applyAll(kernel, kernel.version);
    kernel.aliases.check();
  } catch (err) {
    fatal(`cannot start: ${(err as Error).message}`);
    return new Promise<never>(() => {});
  }

  const env: Record<string, string> = { SKITAI_INSTANCE_ID: model.instanceId };
  if (model.lu.keys().length > 0) {
    const dir = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    sweepLuFiles(dir);
    luFile = path.join(dir, `skitai-lu-${process.pid}-${Date.now().toString(36)}`);
    model.lu.createShared(luFile);
    env.SKITAI_LU_FILE = luFile;
  }

  cluster.setupPrimary({
    exec: process.argv[1],
    args: process.argv.slice(2).filter((a) => !VERB_ARGS.has(a)),
    serialization: 'advanced',
    execArgv: workerExecArgv(process.execArgv, options.execArgv),
  });

  const idOf = (rec: WorkerRecord) => `W${rec.slot}`;
  const live = (slot: number) => [...records.values()].filter((r) => r.slot === slot && r.state !== 'retiring');

  // For the status page: restarts of each slot and why, and the request/reply to the workers.
  const slotRestarts = new Map<number, { restarts: number; at: number; reason: string }>();
  const noteRestart = (slot: number, reason: string) => {
    slotRestarts.set(slot, { restarts: (slotRestarts.get(slot)?.restarts ?? 0) + 1, at: Date.now(), reason });
  };
  const statusRequests = new StatusRequests();
  async function gather(): Promise<ProcessReport[]> {
    const serving = [...records.values()].filter((r) => r.state === 'ready' && r.worker.isConnected());
    const [got, background] = await Promise.all([
      statusRequests.collect(
        serving.map((rec) => ({ key: idOf(rec), ask: (id: number) => post(rec, { skitai: 'status-collect', id }) })),
      ),
      model.background?.reports() ?? [],
    ]);
    const workers = serving
      .sort((a, b) => a.slot - b.slot)
      .map((rec) => {
        const report = isReport(got.get(idOf(rec)))
          ? (got.get(idOf(rec)) as ProcessReport)
          : noAnswer(idOf(rec), 'worker', rec.worker.process.pid);
        const restarts = slotRestarts.get(rec.slot);
        report.restarts = restarts?.restarts ?? 0;
        if (restarts) report.lastRestart = { at: restarts.at, reason: restarts.reason };
        return report;
      });
    return [await localReport(kernel, 'M', 'master'), ...workers, ...background];
  }

  model.transport = {
    gather,
    broadcast: (event, args, from) => relay({ event, args, from }, undefined),
    send: (to, event, args, from) => deliverTo(to, event, args, from),
    restart: () => void rollingReload('restart asked for'),
    shutdown: () => void shutdown('shutdown asked for'),
  };

  function relay(msg: { event: string; args: unknown[]; from: string }, sender: WorkerRecord | undefined): void {
    const out: MasterMessage = { skitai: 'deliver', event: msg.event, args: msg.args, from: msg.from };
    for (const rec of records.values()) {
      if (rec === sender || rec.state === 'retiring' || !rec.worker.isConnected()) continue;
      post(rec, out);
    }
  }

  function deliverTo(to: string, event: string, args: unknown[], from: string): boolean {
    if (to === 'M') {
      model.deliver(event, args, from);
      return true;
    }
    const candidates = [...records.values()].filter(
      (r) => idOf(r) === to && r.state !== 'retiring' && r.worker.isConnected(),
    );
    // During a replacement two workers share an id: the one serving takes it.
    const rec = candidates.find((r) => r.state === 'ready') ?? candidates[0];
    if (!rec) return false;
    post(rec, { skitai: 'deliver', event, args, from });
    return true;
  }

  /** Sends now to a ready worker, or keeps it until a starting one is ready. */
  function post(rec: WorkerRecord, msg: MasterMessage): void {
    if (rec.state === 'starting') {
      rec.pending.push(msg);
      return;
    }
    try {
      rec.worker.send(msg);
    } catch {
      /* exiting */
    }
  }

  function fork(slot: number, replace: boolean): WorkerRecord {
    const worker = cluster.fork({ ...env, SKITAI_WORKER_SLOT: String(slot) });
    let onReady!: () => void;
    let onFail!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    ready.catch(() => {
      /* handled by whoever waits */
    });
    const rec: WorkerRecord = {
      worker,
      slot,
      state: 'starting',
      replace,
      over: 0,
      lastReport: 0,
      pending: [],
      ready,
      onReady,
      onFail,
    };
    records.set(worker.id, rec);
    worker.on('message', (msg: unknown) => onMessage(rec, msg));
    worker.on('error', (err) => log('warn', `worker #${slot}: ${err.message}`));
    worker.once('exit', (code, signal) => onExit(rec, code, signal));
    return rec;
  }

  function onMessage(rec: WorkerRecord, msg: unknown): void {
    if (!isSkitaiMessage(msg)) return;
    const m = msg as WorkerMessage;
    switch (m.skitai) {
      case 'ready':
        if (rec.state === 'starting') rec.state = 'ready';
        rec.lastReport = Date.now();
        rec.replace = true;
        for (const queued of rec.pending.splice(0)) post(rec, queued);
        listening ??= { address: m.address, port: m.port, scheme: m.scheme };
        rec.onReady();
        break;
      case 'start-failed':
        rec.startError = { code: m.code, message: m.message };
        break;
      case 'bcast':
        relay(m, rec);
        break;
      case 'send':
        deliverTo(m.to, m.event, m.args, m.from);
        break;
      case 'cpu':
        onCpu(rec, m.cpu, m.elapsed);
        break;
      case 'restart':
        void rollingReload(`restart asked for by ${idOf(rec)}`);
        break;
      case 'shutdown':
        void shutdown(`shutdown asked for by ${idOf(rec)}`);
        break;
      case 'status-ask':
        gather().then(
          (reports) => post(rec, { skitai: 'status-reply', id: m.id, reports }),
          (err) => log('error', `status: ${(err as Error).message}`),
        );
        break;
      case 'status-report':
        statusRequests.answer(m.id, idOf(rec), m.report);
        break;
    }
  }

  function onExit(rec: WorkerRecord, code: number | null, signal: string | null): void {
    records.delete(rec.worker.id);
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const pid = rec.worker.process.pid;
    const wasStarting = rec.state === 'starting';
    rec.onFail(new Error(rec.startError?.message ?? `worker #${rec.slot} exited before it listened (${how})`));
    if (stopping) return;
    if (rec.state === 'retiring') {
      log('info', `worker #${rec.slot} (pid ${pid}) retired`);
      return;
    }
    if (rec.startError?.code === 'SKT_LISTEN_FAILED') return fatal(rec.startError.message);
    if (wasStarting && !everReady)
      return fatal(`worker #${rec.slot} failed to start: ${rec.startError?.message ?? how}`);
    if (!rec.replace) {
      log('error', `worker #${rec.slot} (pid ${pid}) failed to start (${rec.startError?.message ?? how})`);
      return;
    }
    let policy = policies.get(rec.slot);
    if (!policy) policies.set(rec.slot, (policy = new RestartPolicy()));
    const { delay, limited, recent } = policy.died();
    noteRestart(rec.slot, `pid ${pid} died (${how})`);
    const at = wasStarting ? ' at start' : '';
    if (limited) {
      log(
        'error',
        `worker #${rec.slot} (pid ${pid}) died${at} (${how}): ${recent} deaths in ${policy.period / 1000} s, over the limit of ${policy.limit}: next try in ${(delay / 1000).toFixed(1)} s`,
      );
    } else {
      log(
        'warn',
        `worker #${rec.slot} (pid ${pid}) died${at} (${how}): replacing it in ${(delay / 1000).toFixed(1)} s`,
      );
    }
    setTimeout(() => {
      if (stopping || live(rec.slot).length > 0) return;
      fork(rec.slot, true);
    }, delay).unref();
  }

  function retire(rec: WorkerRecord): Promise<void> {
    if (rec.state === 'retiring' && !rec.worker.isConnected()) return Promise.resolve();
    const wasReady = rec.state === 'ready';
    rec.state = 'retiring';
    return new Promise((resolve) => {
      if (rec.worker.isDead()) return resolve();
      const kill = setTimeout(() => {
        log('warn', `worker #${rec.slot} (pid ${rec.worker.process.pid}) did not stop in time: killed`);
        try {
          rec.worker.process.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }, stopDeadline + 5000);
      rec.worker.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      // A worker still starting may not listen to messages yet: a signal reaches it either way
      // (graceful once its handlers are set, at once before that: it serves nothing yet).
      if (!wasReady) rec.worker.process.kill('SIGTERM');
      else {
        try {
          rec.worker.send({ skitai: 'stop' } satisfies MasterMessage);
        } catch {
          rec.worker.process.kill('SIGTERM');
        }
      }
    });
  }

  // ---- replacing workers one at a time (reload, critical point) ----------------------------

  let queue: Promise<void> = Promise.resolve();
  const enqueue = (job: () => Promise<void>): Promise<void> => (queue = queue.then(job, job));

  async function replaceSlot(slot: number, reason: string): Promise<boolean> {
    if (stopping) return false;
    const olds = live(slot);
    const fresh = fork(slot, false);
    try {
      await fresh.ready;
    } catch (err) {
      if (stopping) return false;
      log(
        'error',
        `${reason}: the new worker #${slot} did not start (${(err as Error).message}); the old one keeps serving`,
      );
      return false;
    }
    if (olds.length > 0) noteRestart(slot, reason);
    log(
      'info',
      `${reason}: worker #${slot} (pid ${fresh.worker.process.pid}) listens; retiring pid ${olds.map((r) => r.worker.process.pid).join(', ') || '-'}`,
    );
    await Promise.all(olds.map(retire));
    return true;
  }

  let reloadPending = false;
  async function rollingReload(reason: string): Promise<void> {
    if (stopping) return;
    if (reloadPending) return;
    reloadPending = true;
    await enqueue(async () => {
      reloadPending = false;
      log('info', `${reason}: rolling reload of ${count} workers`);
      for (let slot = 0; slot < count && !stopping; slot++) await replaceSlot(slot, reason);
      if (!stopping) log('info', `${reason}: rolling reload done`);
    });
  }

  function onCpu(rec: WorkerRecord, cpu: number, elapsed: number): void {
    const cp = model.criticalPoint;
    rec.lastReport = Date.now();
    if (!cp || rec.state !== 'ready' || stopping) return;
    if (Date.now() < (cooldownUntil.get(rec.slot) ?? 0)) return;
    // A report that came late (the event loop was busy) covers several intervals.
    const intervals = Math.max(1, Math.round(elapsed / (cp.interval * 1000)));
    rec.over = cpu >= cp.cpuPercent ? rec.over + intervals : 0;
    if (rec.over < cp.continuous) return;
    critical(rec, `used ${cpu.toFixed(0)}% CPU for ${cp.continuous} intervals of ${cp.interval} s`);
  }

  function critical(rec: WorkerRecord, why: string): void {
    const cp = model.criticalPoint!;
    rec.over = 0;
    const cooldown = Math.max(cp.cooldown, cp.interval) * 1000;
    cooldownUntil.set(rec.slot, Number.POSITIVE_INFINITY);
    log('warn', `worker #${rec.slot} (pid ${rec.worker.process.pid}) ${why}: replacing it`);
    void enqueue(async () => {
      if (rec.state !== 'ready') return;
      await replaceSlot(rec.slot, 'critical point');
    }).finally(() => cooldownUntil.set(rec.slot, Date.now() + cooldown));
  }

  // A worker whose event loop is blocked cannot report at all: silence past the critical span
  // counts as over the threshold.
  if (model.criticalPoint) {
    const cp = model.criticalPoint;
    const span = (cp.continuous + 1) * cp.interval * 1000;
    setInterval(() => {
      if (stopping) return;
      const now = Date.now();
      for (const rec of records.values()) {
        if (rec.state !== 'ready' || now < (cooldownUntil.get(rec.slot) ?? 0)) continue;
        if (now - rec.lastReport > span)
          critical(
            rec,
            `did not report for ${((now - rec.lastReport) / 1000).toFixed(1)} s (its event loop is blocked)`,
          );
      }
    }, cp.interval * 1000).unref();
  }

  // ---- stop ------------------------------------------------------------------------------------

  let stopped: Promise<void> | undefined;
  function shutdown(reason: string): Promise<void> {
    if (stopped) return stopped;
    stopping = true;
    log('info', `${reason}: stopping ${records.size} workers gracefully`);
    stopped = (async () => {
      await Promise.all([...[...records.values()].map(retire), background.stopAll()]);
      log('info', 'stopped');
      cleanup();
      await kernel.logs.close();
      process.exit(0);
    })();
    return stopped;
  }

  let firstSignal = 0;
  const onStopSignal = (signal: NodeJS.Signals) => {
    // A signal sent to the whole process group arrives more than once: only a repeat a
    // second or more later (Ctrl-C twice) forces the stop.
    if (firstSignal === 0) firstSignal = Date.now();
    else if (Date.now() - firstSignal < 1000) return;
    else {
      log('warn', `${signal} again: killing every worker`);
      for (const rec of records.values()) {
        try {
          rec.worker.process.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
      cleanup();
      process.exit(1);
    }
    void shutdown(signal);
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);
  process.on('SIGHUP', () => void rollingReload('SIGHUP'));
  const workersReopenLogs = () => {
    for (const rec of records.values()) {
      try {
        rec.worker.send({ skitai: 'reopen-logs' } satisfies MasterMessage);
      } catch {
        /* exiting */
      }
    }
  };
  process.on('SIGUSR1', () => {
    kernel.logs.reopen();
    log('info', 'SIGUSR1: log files reopened');
    workersReopenLogs();
  });
  if (logpath) {
    scheduleDailyRotation(kernel.logs, () => {
      log('info', 'midnight: log files rotated');
      workersReopenLogs();
    });
    process.on('SIGUSR2', () => {
      kernel.logs.rotate();
      log('info', 'SIGUSR2: log files rotated');
      workersReopenLogs();
    });
  }

  // ---- first generation ------------------------------------------------------------------

  log('info', `skitai ${kernel.version} master (pid ${process.pid}) starting ${count} workers`);
  const first = Array.from({ length: count }, (_, slot) => fork(slot, true));
  try {
    await Promise.all(first.map((r) => r.ready));
  } catch {
    // onExit has ended the master with the reason.
    return new Promise<never>(() => {});
  }
  everReady = true;
  const bound = listening!;
  log('info', `${count} workers listening on ${bound.scheme}://${bound.address}:${bound.port}`);
  if (logpath !== undefined && !(cli.verbose || options.verbose)) {
    process.stderr.write(
      `skitai ${kernel.version}: ${count} workers listening on ${bound.scheme}://${bound.address}:${bound.port}; logs in ${logpath}\n`,
    );
  }
  model.background = background;
  for (const spec of model.processes.values()) background.start(spec);
  // useReloader with workers: a changed file under an app's folder replaces every worker.
  const roots = new Set<string>();
  for (const entry of kernel.mounts.entries) {
    const target = entry.target as { useReloader?: unknown; root?: unknown };
    if (target && typeof target === 'object' && target.useReloader === true && typeof target.root === 'string')
      roots.add(target.root);
  }
  for (const root of roots) {
    watchTree(root, (file) => void rollingReload(`${path.relative(kernel.getswd(), file) || file} changed`));
    log('info', `useReloader: watching ${root}`);
  }
  hooks.ready?.(bound);
  return bound;
}

/** Removes the shared-key files of masters that died without cleaning up (kill -9). */
function sweepLuFiles(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^skitai-lu-(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
        try {
          fs.unlinkSync(path.join(dir, name));
        } catch {
          /* another master swept it */
        }
      }
    }
  }
}
