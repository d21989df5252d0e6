import type { Kernel, Listening, RunOptions } from '../kernel.js';
import type { CommandLine } from '../run/argv.js';
import { codes } from '../errors.js';
import { runWorker } from './worker.js';
import { runMaster } from './master.js';
import { daemonVerb, type DaemonOptions } from './daemon.js';
import { writePidFile } from './pid-file.js';
import { applyPrefs } from './pref.js';
import { checkExecArgv } from './exec-argv.js';
import process from 'node:process';

/** run() options the process model reads besides RunOptions. */
export interface ProcessRunOptions extends DaemonOptions {
  workers?: number;
  /**
   * Skitai's threads. JavaScript handlers run on one thread per process, so this sets the
   * size of libuv's thread pool (file system, dns.lookup, zlib, crypto) in each worker:
   * UV_THREADPOOL_SIZE. 0 or unset leaves node's default (4).
   */
  threads?: number;
}

/**
 * The process model's part of kernel.run(): a worker runs as one; a daemon verb acts and
 * exits; more than one worker makes this process their master. Otherwise (one process in the
 * foreground, or the daemon's own process with one worker) run() goes on as before.
 */
export async function runProcessModel(
  kernel: Kernel,
  options: RunOptions & ProcessRunOptions,
  cli: CommandLine,
): Promise<{ handled: boolean; listening?: Listening }> {
  const model = kernel.processModel;
  if (model.role === 'worker') {
    await applyPrefs(kernel);
    return { handled: true, listening: await runWorker(kernel, options, cli) };
  }

  if (cli.verb !== undefined) {
    const code = await daemonVerb(kernel, options, cli);
    process.exit(code);
  }

  const workers = cli.workers ?? options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) {
    process.stderr.write(
      `skitai: ${codes.SKT_INVALID_OPTION('workers', workers, 'a whole number, 1 or more').message}\n`,
    );
    process.exit(2);
  }
  const threads = options.threads;
  if (threads !== undefined && threads !== 0) {
    if (!Number.isInteger(threads) || threads < 0 || threads > 1024) {
      process.stderr.write(
        `skitai: ${codes.SKT_INVALID_OPTION('threads', threads, 'a whole number from 0 to 1024').message}\n`,
      );
      process.exit(2);
    }
    process.env.UV_THREADPOOL_SIZE ??= String(threads);
  }
  try {
    checkExecArgv(options.execArgv);
  } catch (err) {
    process.stderr.write(`skitai: ${(err as Error).message}\n`);
    process.exit(2);
  }

  await applyPrefs(kernel);
  const pidFile = process.env.SKITAI_DAEMON_PIDFILE;
  // Only this process is the daemon: not the programs it starts (a cron job's script...).
  delete process.env.SKITAI_DAEMON_PIDFILE;
  if (workers > 1) {
    const listening = await runMaster(kernel, options, cli, workers, {
      ready: () => {
        if (pidFile) writePidFile(pidFile);
      },
    });
    return { handled: true, listening };
  }
  if (pidFile) {
    kernel.hooks.listening.tap('skitai:daemon-pid', () => writePidFile(pidFile));
  }
  // One process is its own master: SIGUSR1 reopens the logs, SIGHUP runs the reload taps
  // (their default actions would start the inspector and end the process).
  process.on('SIGUSR1', () => {
    kernel.logs.reopen();
    kernel.logs.log('server', 'info', 'SIGUSR1: log files reopened');
  });
  // The one process rotates its own files (at its first write after midnight); SIGUSR2 now.
  process.on('SIGUSR2', () => {
    kernel.logs.rotate();
    kernel.logs.log('server', 'info', 'SIGUSR2: log files rotated');
  });
  process.on('SIGHUP', () => {
    kernel.logs.log('server', 'info', 'SIGHUP: running the reload taps (a rolling reload needs workers)');
    kernel.reload().catch((err) => kernel.logs.log('server', 'error', `reload failed: ${(err as Error).message}`));
  });
  return { handled: false };
}
