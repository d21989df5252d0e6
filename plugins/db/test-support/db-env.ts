// Where the tests find their database servers (scripts/services.sh start prints the exports),
// a kernel helper, and a TCP relay that stands for a member which can be stopped mid-run.
// (Kept out of test/: node's runner would take any .js there for a test file.)
import net from 'node:net';
import { after } from 'node:test';
import type { Kernel } from '@skitai/kernel';

/** PostgreSQL from PGHOST/PGPORT; Redis from REDIS_URL. */
export interface Servers {
  pg: { host: string; port: number; user: string; database: string } | undefined;
  redis: { host: string; port: number } | undefined;
}

export const servers: Servers = {
  pg:
    process.env.PGHOST && process.env.PGPORT
      ? {
          host: process.env.PGHOST,
          port: Number(process.env.PGPORT),
          user: process.env.PGUSER ?? 'postgres',
          database: process.env.PGDATABASE ?? 'postgres',
        }
      : undefined,
  redis: process.env.REDIS_URL
    ? (() => {
        const u = new URL(process.env.REDIS_URL!);
        return { host: u.hostname, port: Number(u.port || 6379) };
      })()
    : undefined,
};

/**
 * The `skip` option of a test that needs a server: false when it is there. Under CI=true a
 * missing server is an error (the test fails loudly); elsewhere the test is skipped, saying why.
 */
export function needs(what: 'pg' | 'redis'): false | string {
  if (servers[what] !== undefined) return false;
  const why =
    what === 'pg'
      ? 'PostgreSQL not configured: run eval "$(scripts/services.sh start)" (sets PGHOST, PGPORT ...)'
      : 'Redis not configured: run eval "$(scripts/services.sh start)" (sets REDIS_URL)';
  if (process.env.CI === 'true') throw new Error(`CI=true but ${why}`);
  console.log(`# skipped: ${why}`);
  return why;
}

/** host:port/db for a member string. */
export function pgMember(
  db = servers.pg?.database ?? 'postgres',
  user = servers.pg?.user ?? 'postgres',
  password?: string,
): string {
  const cred =
    password === undefined
      ? user
      : `${user}:${password.replace(/%/g, '%25').replace(/@/g, '%40').replace(/:/g, '%3A')}`;
  return `${cred}@${servers.pg!.host}:${servers.pg!.port}/${db}`;
}

const kernels: Kernel[] = [];
after(async () => {
  await Promise.all(kernels.map((k) => k.stop()));
});

/** Starts a kernel on 127.0.0.1, port 0; stopped after the file's tests. */
export async function start(kernel: Kernel): Promise<string> {
  kernels.push(kernel);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${port}`;
}

export async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** A TCP relay to a real server: a member that `kill()` stops at once, open connections included. */
export interface Relay {
  port: number;
  /** Connections relayed so far. */
  connections: number;
  kill(): Promise<void>;
}

export async function relay(host: string, port: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const r: Relay = { port: 0, connections: 0, kill: async () => {} };
  const server = net.createServer((client) => {
    r.connections++;
    const upstream = net.connect(port, host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.address() as net.AddressInfo).port;
  r.kill = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  after(() => r.kill());
  return r;
}

/** A port where nothing listens (bound then released). */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
