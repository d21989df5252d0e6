// A real redis-server for the tests, on a unix socket in a temporary folder (no port to
// collide on), which a test can stop and start again mid-test on the same socket.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';

/** Why the tests cannot run here (no redis-server on PATH), or undefined when they can. */
export function redisMissing(): string | undefined {
  if (!spawnSync('redis-server', ['--version']).error) return undefined;
  const why = 'redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)';
  // Under CI a missing server is a failure, not a skip.
  if (process.env.CI === 'true') throw new Error(`CI=true but ${why}`);
  console.log(`# skipped: ${why}`);
  return why;
}

export class TestRedis {
  readonly socket: string;
  private child: ChildProcess | undefined;

  constructor(dir: string) {
    this.socket = path.join(dir, 'r.sock');
  }

  /** Starts it; resolves when it accepts connections (its own log line says so). */
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', '0', '--unixsocket', this.socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (/ready to accept connections/i.test(out)) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
      child.once('error', reject);
    });
  }

  /** The running server's pid (undefined when stopped). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stops it (SIGTERM) and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const gone = once(child, 'exit');
    child.kill('SIGTERM');
    await gone;
  }
}
