import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { PREFACE } from './preface.js';
import { requestFrames } from './hpack.js';

/** The largest request body carried across an `Upgrade: h2c` (it must fit HTTP/2's initial window). */
export const MAX_UPGRADE_BODY = 65535;

// Hop-by-hop fields of the HTTP/1.1 request that HTTP/2 forbids (RFC 9113 section 8.2.2).
const HOP_BY_HOP = new Set(['connection', 'upgrade', 'http2-settings', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'host', 'te']);

/** True for a request asking to switch to h2c (and not, say, to WebSocket). */
export function wantsH2c(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || (req.socket as { encrypted?: boolean }).encrypted) return false;
  return upgrade.split(',').some((t) => t.trim().toLowerCase() === 'h2c');
}

/**
 * Why the upgrade cannot be made, or undefined. RFC 9113 section 3.2 (RFC 7540's): exactly one
 * HTTP2-Settings header, a base64url SETTINGS payload (6 bytes a setting), listed in Connection.
 */
export function upgradeError(req: IncomingMessage): { status: number; why: string } | undefined {
  let settings = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'http2-settings') settings++;
  if (settings !== 1) return { status: 400, why: 'an h2c upgrade needs exactly one HTTP2-Settings header' };
  const value = String(req.headers['http2-settings']).trim();
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(value) || Buffer.from(value, 'base64url').length % 6 !== 0) {
    return { status: 400, why: 'HTTP2-Settings is not a base64url SETTINGS payload' };
  }
  const connection = String(req.headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim());
  if (!connection.includes('http2-settings')) return { status: 400, why: 'Connection must list HTTP2-Settings' };
  if (req.headers['transfer-encoding'] !== undefined) return { status: 411, why: 'an h2c upgrade carries a body with Content-Length only' };
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > MAX_UPGRADE_BODY) return { status: 413, why: `an h2c upgrade carries a body of ${MAX_UPGRADE_BODY} bytes at most` };
  return undefined;
}

/** The request as HTTP/2 fields: pseudo-headers first, hop-by-hop fields left out. */
export function requestFields(req: IncomingMessage): Array<[string, string]> {
  const fields: Array<[string, string]> = [
    [':method', req.method!],
    [':scheme', 'http'],
    [':authority', req.headers.host ?? ''],
    [':path', req.url!],
  ];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(name)) fields.push([name, raw[i + 1]!]);
  }
  return fields;
}

/**
 * After the 101: waits for the client's preface and first SETTINGS frame, puts the upgraded
 * request behind them as stream 1 (HEADERS, then DATA for a body), gives the bytes back to the
 * socket and hands it to `serve` (an HTTP/2 session then reads them as if the client had sent
 * them). Bytes that are not a preface go through untouched: the session refuses them.
 */
export function spliceUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, timeoutMs: number, serve: (socket: Duplex) => void): void {
  const length = Number(req.headers['content-length'] ?? 0);
  let seen = head;
  let body: Buffer | undefined;
  let timer: NodeJS.Timeout | undefined;
  const cleanup = () => {
    socket.off('data', onData);
    socket.off('error', onGone);
    socket.off('close', onGone);
    if (timer !== undefined) clearTimeout(timer);
  };
  const handOver = (bytes: Buffer) => {
    cleanup();
    socket.pause();
    socket.unshift(bytes);
    serve(socket);
  };
  const check = () => {
    if (body === undefined) {
      if (seen.length < length) return;
      body = seen.subarray(0, length);
      seen = seen.subarray(length);
    }
    const n = Math.min(seen.length, PREFACE.length);
    if (seen.compare(PREFACE, 0, n, 0, n) !== 0) return handOver(seen);
    if (seen.length < PREFACE.length + 9) return;
    const settingsEnd = PREFACE.length + 9 + seen.readUIntBE(PREFACE.length, 3);
    if (seen[PREFACE.length + 3] !== 0x4) return handOver(seen);   // not SETTINGS: refused by the session
    if (seen.length < settingsEnd) return;
    handOver(Buffer.concat([seen.subarray(0, settingsEnd), requestFrames(1, requestFields(req), body), seen.subarray(settingsEnd)]));
  };
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    check();
  };
  const onGone = () => { cleanup(); socket.destroy(); };
  socket.on('data', onData);
  socket.on('error', onGone);
  socket.on('close', onGone);
  if (timeoutMs > 0) timer = setTimeout(onGone, timeoutMs);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  check();
}
