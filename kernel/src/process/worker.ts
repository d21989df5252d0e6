import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Kernel, Listening, RunOptions } from '../kernel.js';
import type { CommandLine } from '../run/argv.js';
import { setTitle } from './title.js';
import { isSkitaiMessage, type MasterMessage, type WorkerMessage } from './messages.js';
import { localReport, processNumbers, STATUS_TIMEOUT_MS, StatusRequests, type ProcessReport } from './status.js';
import process from 'node:process';

function send(msg: WorkerMessage): void {
  if (process.connected && process.send) {
    try {
      process.send(msg);
    } catch {
      /* the master is gone: the disconnect handler stops us */
    }
  }
}

/** How long a retiring worker lets busy keep-alive connections finish with `Connection: close`. */
const SOFT_DRAIN_MS = 2000;

/**
 * A worker: takes its id from the master (W0, W1 ...), starts the kernel on the master's
 * socket, says when it is ready, and stops gracefully when told to (or when the master is
 * gone). Signals from the terminal's process group are the master's business.
 */
export async function runWorker(kernel: Kernel, options: RunOptions, cli: CommandLine): Promise<Listening | undefined> {
  const slot = Number(process.env.SKITAI_WORKER_SLOT);
  const model = kernel.processModel;
  model.role = 'worker';
  kernel.workerId = `W${slot}`;
  setTitle(`worker #${slot}`);
  process.chdir(kernel.getswd());
  if (process.env.SKITAI_LU_FILE) model.lu.attachShared(process.env.SKITAI_LU_FILE);
  delete process.env.SKITAI_LU_FILE;
  // Read by the model (the master's instance id); not for the worker's own children.
  model.instanceId = process.env.SKITAI_INSTANCE_ID || model.instanceId;
  delete process.env.SKITAI_INSTANCE_ID;

  const statusRequests = new StatusRequests();
  model.transport = {
    gather: async () => {
      // The master waits for its workers first: give it that long and more.
      const got = await statusRequests.collect(
        [{ key: 'M', ask: (id) => send({ skitai: 'status-ask', id }) }],
        STATUS_TIMEOUT_MS * 2 + 500,
      );
      return (got.get('M') as ProcessReport[] | undefined) ?? [await localReport(kernel, kernel.workerId, 'worker')];
    },
    broadcast: (event, args, from) => send({ skitai: 'bcast', event, args, from }),
    send: (to, event, args, from) => {
      send({ skitai: 'send', to, event, args, from });
      return true;
    },
    restart: () => send({ skitai: 'restart' }),
    shutdown: () => send({ skitai: 'shutdown' }),
  };

  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> => {
    if (stopping) return stopping;
    stopping = (async () => {
      kernel.logs.log('server', 'info', `${kernel.workerId} stopping (${why})`);
      await softDrain(kernel);
      await kernel.stop();
    })().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`skitai: ${kernel.workerId} stop failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
    return stopping;
  };

  process.on('message', (msg: unknown) => {
    if (!isSkitaiMessage(msg)) return;
    const m = msg as MasterMessage;
    if (m.skitai === 'stop') void stop('asked by the master');
    else if (m.skitai === 'deliver') model.deliver(m.event, m.args, m.from);
    else if (m.skitai === 'reopen-logs') kernel.logs.reopen();
    else if (m.skitai === 'status-collect') {
      localReport(kernel, kernel.workerId, 'worker').then(
        (report) => send({ skitai: 'status-report', id: m.id, report }),
        (err) => {
          // A status tap that throws: the page says so for this worker.
          kernel.logs.log('server', 'error', `status report failed: ${(err as Error).stack ?? err}`);
          send({
            skitai: 'status-report',
            id: m.id,
            report: {
              ...processNumbers(kernel.workerId, 'worker', []),
              error: `status failed: ${(err as Error).message ?? err}`,
            },
          });
        },
      );
    } else if (m.skitai === 'status-reply') statusRequests.answer(m.id, 'M', m.reports);
  });
  process.on('disconnect', () => void stop('the master is gone'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => {
    /* the master stops us */
  });
  process.on('SIGHUP', () => {
    /* the master reloads */
  });
  process.on('SIGUSR1', () => kernel.logs.reopen());

  kernel.hooks.startup.tapPromise({ name: 'skitai:worker-start', stage: 1000 }, () =>
    kernel.hooks.workerStart.promise(kernel.workerId),
  );

  let listening: Listening;
  try {
    listening = await kernel.start({
      address: options.address,
      port: cli.port ?? options.port,
      logpath: options.logpath ? kernel.abspath(options.logpath) : undefined,
      verbose: cli.verbose || options.verbose,
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    send({ skitai: 'start-failed', code: e.code, message: e.message });
    process.stderr.write(`skitai: ${kernel.workerId} cannot start: ${e.stack ?? e.message}\n`);
    // Let the message reach the master before going.
    setTimeout(() => process.exit(1), 50);
    return undefined;
  }
  send({ skitai: 'ready', address: listening.address, port: listening.port, scheme: listening.scheme });
  if (model.criticalPoint) sampleCpu(model.criticalPoint.interval * 1000);
  return listening;
}

/**
 * Before the kernel's own drain: stop accepting (the master hands new connections to other
 * workers) but leave keep-alive connections open, answering their next request with
 * `Connection: close`, so a client never writes into a socket that closes under it.
 */
async function softDrain(kernel: Kernel): Promise<void> {
  const server = kernel.server;
  if (!server || !server.listening) return;
  server.prependListener('request', (_req, res) => {
    res.shouldKeepAlive = false;
  });
  net.Server.prototype.close.call(server);
  const deadline = Date.now() + SOFT_DRAIN_MS;
  while (Date.now() < deadline) {
    const open = await new Promise<number>((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
    if (open === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Reports this worker's CPU use (percent of one core) and event-loop utilisation to the master. */
function sampleCpu(intervalMs: number): void {
  let lastCpu = process.cpuUsage();
  let lastTime = performance.now();
  let lastElu = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const elu = performance.eventLoopUtilization(lastElu);
    const elapsed = now - lastTime;
    lastCpu = process.cpuUsage();
    lastTime = now;
    lastElu = performance.eventLoopUtilization();
    const percent = elapsed > 0 ? ((cpu.user + cpu.system) / 1000 / elapsed) * 100 : 0;
    send({ skitai: 'cpu', cpu: percent, elu: elu.utilization, elapsed });
  }, intervalMs);
  timer.unref();
}
