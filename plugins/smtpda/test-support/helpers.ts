// Helpers for the smtpda tests: temporary spools, config files, the agent as a real process.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** plugins/smtpda (this file runs from plugins/smtpda/dist/test-support). */
export const PACKAGE_DIR = path.resolve(here, '../..');
export const CLI = path.join(PACKAGE_DIR, 'dist/src/cli.js');
export const FIXTURES = path.join(PACKAGE_DIR, 'test-support/fixtures');
export const SERVER_FIXTURE = path.join(PACKAGE_DIR, 'dist/test-support/server-fixture.js');

export { freePort, sleep, tempDir, waitUntil } from '@skitai/test-support';

/** Writes a Skitai config file; `smtpda` keys go under [smtpda], logPath under [common]. */
export function writeConfig(dir: string, smtpda: Record<string, string | number | boolean>, logPath?: string): string {
  const file = path.join(dir, 'skitai.conf');
  const lines = ['# test config', '[common]', `log-path = ${logPath ?? path.join(dir, 'log')}`, '', '[smtpda]'];
  for (const [k, v] of Object.entries(smtpda)) lines.push(`${k} = ${v}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** Runs `node dist/src/cli.js ...args` (the skitai-smtpda bin) as a child process. */
export function runCli(args: string[], env: Record<string, string> = {}): AgentProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    kill: (signal = 'SIGTERM') => {
      try {
        child.kill(signal);
      } catch {
        /* gone */
      }
    },
  };
}

/** Runs the CLI to completion (status, stop, start): its exit code and output. */
export async function cliOnce(
  args: string[],
  env: Record<string, string> = {},
  ms = 30_000,
): Promise<{ code: number | null; output: string }> {
  const p = runCli(args, env);
  const timer = setTimeout(() => p.kill('SIGKILL'), ms);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, output: p.output() };
}

export function readLog(logDir: string): string {
  try {
    return fs.readFileSync(path.join(logDir, 'smtpda.log'), 'utf8');
  } catch {
    return '';
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
