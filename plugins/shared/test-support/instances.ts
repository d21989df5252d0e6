// Instances of test-support/instance.ts as child processes, and what the tests read from them.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./instance.js', import.meta.url));

export interface InstanceLine {
  event?: string;
  key?: string;
  getlu?: number;
  from?: string;
  port?: number;
  instance?: string;
  at?: number;
  token?: string;
  /** Milliseconds the process waited for a CPU between GET /mark and this line. */
  waited?: number;
  /** The process that wrote the line: 'W0', 'W1' ... with workers, 'M' for a master or a single process. */
  worker?: string;
  role?: 'single' | 'master' | 'worker';
  pid?: number;
}

const WORKERS_LISTENING = /\d+ workers listening on https?:\/\/\S+:(\d+)/;

/** One instance: its port, the JSON lines it wrote, its stderr; waits on both as they come. */
export class Instance {
  port = 0;
  id = '';
  readonly lines: Array<InstanceLine & { receivedAt: number }> = [];
  stderr = '';
  /** Lines of stdout that are not JSON (the cron scheduler's log). */
  stdoutLog = '';
  private readonly waiters = new Set<() => void>();
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    config: Record<string, unknown>,
  ) {
    this.child = spawn(process.execPath, [SCRIPT, JSON.stringify({ ...config, name })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const receivedAt = performance.now();
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const line = JSON.parse(text) as InstanceLine;
          if (line && typeof line === 'object') this.lines.push({ ...line, receivedAt });
        } catch {
          this.stdoutLog += `${text}\n`; // a log line (cron's)
        }
      }
      this.wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      this.wake();
    });
    this.child.once('exit', () => this.wake());
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with `check`'s value when output makes it truthy; rejects after `ms` (or if the process exits). */
  when<T>(check: () => T | undefined | null | false, ms: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const test = () => {
        let value: T | undefined | null | false;
        try {
          value = check();
        } catch (err) {
          return done(err as Error);
        }
        if (value) return done(undefined, value);
        if (this.child.exitCode !== null)
          done(
            new Error(`${this.name} exited (${this.child.exitCode}) waiting for ${what}:\n${this.stderr.slice(-3000)}`),
          );
      };
      const done = (err?: Error, value?: T) => {
        clearTimeout(timer);
        this.waiters.delete(test);
        if (err) reject(err);
        else resolve(value as T);
      };
      const timer = setTimeout(
        () => done(new Error(`${this.name}: ${what}: not within ${ms} ms; stderr:\n${this.stderr.slice(-3000)}`)),
        ms,
      );
      this.waiters.add(test);
      test();
    });
  }

  async started(): Promise<void> {
    const line = await this.when(() => this.lines.find((l) => typeof l.instance === 'string'), 60_000, 'listening');
    this.id = line.instance!;
    // A single process says its port; a master with workers logs it once every worker listens.
    this.port =
      line.port ??
      Number(
        (
          await this.when(
            () => WORKERS_LISTENING.exec(this.stdoutLog) ?? WORKERS_LISTENING.exec(this.stderr),
            60_000,
            'workers listening',
          )
        )[1],
      );
  }

  /** The child's pid (a single process, or the master of workers). */
  get pid(): number {
    return this.child.pid!;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const gone = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await gone;
  }
}
