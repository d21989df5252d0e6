// Starts the demo as a user does (node examples/demo/serve.mjs) on a free port, with its data
// in a fresh temporary folder; resolves once it logs that it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repo } from './net.js';

export interface Demo {
  base: string;
  port: number;
  data: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  log(): string;
  /** SIGTERM; resolves with the exit code. Removes the data folder unless `keepData`. */
  stop(keepData?: boolean): Promise<number | null>;
}

export interface DemoOptions {
  /** More environment variables (DATABASE ...). */
  env?: Record<string, string>;
  /** Fills the fresh data folder before the demo starts. */
  before?: (data: string) => void;
}

export async function startDemo(args: string[] = [], { env, before }: DemoOptions = {}): Promise<Demo> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-demo-'));
  before?.(data);
  const child = spawn(process.execPath, [path.join(repo, 'examples/demo/serve.mjs'), '--port', '0', ...args], {
    env: { ...process.env, ...env, DEMO_DATA: data },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const base = await new Promise<string>((resolve, reject) => {
    const read = (d: Buffer) => {
      out += String(d);
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`the demo exited (${code}) before listening:\n${out}`)));
  });
  return {
    base,
    port: Number(new URL(base).port),
    data,
    child,
    log: () => out,
    stop: async (keepData = false) => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (!keepData) fs.rmSync(data, { recursive: true, force: true });
      return code;
    },
  };
}

/** fetch with a cookie jar, as a browser keeps one; redirects are not followed. `.cookies()` is the Cookie header. */
export function browserLike(base: string) {
  const jar = new Map<string, string>();
  const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const go = async (p: string, init: RequestInit = {}): Promise<Response> => {
    const cookie = cookies();
    const r = await fetch(base + p, {
      redirect: 'manual',
      ...init,
      headers: { ...(init.headers as object), ...(cookie && { cookie }) },
    });
    for (const c of r.headers.getSetCookie()) {
      const pair = c.split(';')[0]!;
      const k = pair.slice(0, pair.indexOf('='));
      const v = pair.slice(pair.indexOf('=') + 1);
      if (v === '' || /Max-Age=0/i.test(c)) jar.delete(k);
      else jar.set(k, v);
    }
    return r;
  };
  return Object.assign(go, { cookies });
}
