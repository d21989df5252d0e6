// Rude clients: connections that reset, half-close or send garbage at every phase of an
// HTTP exchange and of an upgrade. Each one ends when its socket closes (the server's close
// or our own reset), never on a timer; `rudeClients` runs many of them side by side.
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export type RudeKind =
  | 'reset-in-headers'
  | 'reset-mid-body'
  | 'reset-mid-response'
  | 'reset-after-refused-upgrade'
  | 'reset-after-403-upgrade'
  | 'reset-after-app-refused-upgrade'
  | 'reset-after-bad-upgrade'
  | 'reset-after-accepted-upgrade'
  | 'garbage'
  | 'half-closed'
  | 'half-closed-partial';

export const RUDE_KINDS: readonly RudeKind[] = [
  'reset-in-headers',
  'reset-mid-body',
  'reset-mid-response',
  'reset-after-refused-upgrade',
  'reset-after-403-upgrade',
  'reset-after-app-refused-upgrade',
  'reset-after-bad-upgrade',
  'reset-after-accepted-upgrade',
  'garbage',
  'half-closed',
  'half-closed-partial',
];

/** Paths the rude clients use on the server under test (see fixtures/rude-server.mjs). */
export interface RudeTargets {
  /** A static file large enough not to fit one read (the mid-response reset). */
  bigFile: string;
  /** Takes a POST body (the mid-body reset). */
  upload: string;
  /** An upgrade no one takes (the kernel answers 404). */
  noTaker: string;
  /** An upgrade that a mounted handler (Express middleware) refuses with 403. */
  refused: string;
  /** An upgrade that an App route refuses (400). */
  appRefused: string;
  /** An upgrade that is accepted (a WebSocket echo). */
  accepted: string;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const upgrade = (path: string, key = KEY) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** One rude connection; resolves once its socket is closed (whoever closed it). */
export function rudeClient(port: number, kind: RudeKind, t: RudeTargets): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined); // resets both ways are the point
    socket.on('close', () => resolve());
    socket.on('data', () => undefined);
    const reset = () => {
      if (!socket.destroyed) socket.resetAndDestroy();
    };
    socket.once('connect', () => {
      switch (kind) {
        case 'reset-in-headers':
          socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ');
          reset();
          break;
        case 'reset-mid-body':
          socket.write(
            `POST ${t.upload} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`,
          );
          socket.write(randomBytes(3000), () => reset());
          break;
        case 'reset-mid-response':
          socket.write(`GET ${t.bigFile} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
          socket.once('data', reset);
          break;
        case 'reset-after-refused-upgrade':
          socket.write(upgrade(t.noTaker));
          reset();
          break;
        case 'reset-after-403-upgrade':
          // As a ws client refused by Express middleware: the request, then gone.
          socket.write(upgrade(t.refused), () => reset());
          break;
        case 'reset-after-app-refused-upgrade':
          socket.write(upgrade(t.appRefused), () => reset());
          break;
        case 'reset-after-bad-upgrade':
          socket.write(upgrade(t.accepted, 'not-a-key'));
          reset();
          break;
        case 'reset-after-accepted-upgrade':
          socket.write(upgrade(t.accepted));
          socket.once('data', reset);
          break;
        case 'garbage':
          socket.write(randomBytes(64 + Math.floor(Math.random() * 2000)));
          if (Math.random() < 0.5) reset();
          else socket.end();
          break;
        case 'half-closed':
          // A whole request, then our side closed: the answer must still come, then the close.
          socket.end(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
          break;
        case 'half-closed-partial':
          // Half a request, then our side closed: the server must let go.
          socket.end('GET / HTTP/1.1\r\nHost: 127.0');
          break;
      }
    });
  });
}

/**
 * `connections` rude clients, `concurrency` at a time, the kinds taken in turn. Resolves with
 * how many of each ran.
 */
export async function rudeClients(
  port: number,
  t: RudeTargets,
  connections: number,
  concurrency = 64,
): Promise<Record<RudeKind, number>> {
  const counts = Object.fromEntries(RUDE_KINDS.map((k) => [k, 0])) as Record<RudeKind, number>;
  let next = 0;
  const lane = async () => {
    while (next < connections) {
      const kind = RUDE_KINDS[next++ % RUDE_KINDS.length]!;
      counts[kind]++;
      await rudeClient(port, kind, t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, connections) }, lane));
  return counts;
}

/** A plain GET on a new connection: status and headers. */
export function plainGet(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const [status, ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(status!.split(' ')[1]), headers, body: text.slice(end + 4) });
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}
