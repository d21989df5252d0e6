import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { PREFACE } from './preface.js';
import { frame, requestFrames } from './hpack.js';
import { Buffer } from 'node:buffer';

/** The largest request body carried across an `Upgrade: h2c` (it must fit HTTP/2's initial window). */
export const MAX_UPGRADE_BODY = 65535;

// Hop-by-hop fields of the HTTP/1.1 request that HTTP/2 forbids (RFC 9113 section 8.2.2).
const HOP_BY_HOP = new Set([
  'connection',
  'upgrade',
  'http2-settings',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'host',
  'te',
]);

/** True for a request asking to switch to h2c (and not, say, to WebSocket). */
export function wantsH2c(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || (req.socket as { encrypted?: boolean }).encrypted) return false;
  return upgrade.split(',').some((t) => t.trim().toLowerCase() === 'h2c');
}

// SETTINGS values RFC 9113 section 6.5.2 bounds; other identifiers are ignored, as in a frame.
const ENABLE_PUSH = 0x2;
const INITIAL_WINDOW_SIZE = 0x4;
const MAX_FRAME_SIZE = 0x5;
/** More settings than any client needs (six are defined): a larger HTTP2-Settings is refused. */
export const MAX_UPGRADE_SETTINGS = 64;

/**
 * The SETTINGS payload of an HTTP2-Settings value (base64url, RFC 9113 section 3.2), or why it
 * is malformed: not base64url, not whole 6-byte settings, a value out of its range.
 */
export function decodeHttp2Settings(value: string): Buffer | string {
  const text = value.trim();
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return 'HTTP2-Settings is not base64url';
  const payload = Buffer.from(text, 'base64url');
  if (payload.length % 6 !== 0) return 'HTTP2-Settings is not a SETTINGS payload (6 bytes a setting)';
  if (payload.length > MAX_UPGRADE_SETTINGS * 6)
    return `HTTP2-Settings carries more than ${MAX_UPGRADE_SETTINGS} settings`;
  for (let at = 0; at < payload.length; at += 6) {
    const id = payload.readUInt16BE(at);
    const v = payload.readUInt32BE(at + 2);
    if (id === ENABLE_PUSH && v > 1) return `HTTP2-Settings: SETTINGS_ENABLE_PUSH is ${v} (0 or 1)`;
    if (id === INITIAL_WINDOW_SIZE && v > 0x7fffffff)
      return `HTTP2-Settings: SETTINGS_INITIAL_WINDOW_SIZE is ${v} (at most 2^31-1)`;
    if (id === MAX_FRAME_SIZE && (v < 16384 || v > 0xffffff))
      return `HTTP2-Settings: SETTINGS_MAX_FRAME_SIZE is ${v} (16384 to 2^24-1)`;
  }
  return payload;
}

/**
 * Why the upgrade cannot be made, or undefined. RFC 9113 section 3.2 (RFC 7540's): exactly one
 * HTTP2-Settings header, a valid SETTINGS payload in base64url, listed in Connection.
 */
export function upgradeError(req: IncomingMessage): { status: number; why: string } | undefined {
  let settings = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]!.toLowerCase() === 'http2-settings') settings++;
  if (settings !== 1) return { status: 400, why: 'an h2c upgrade needs exactly one HTTP2-Settings header' };
  const decoded = decodeHttp2Settings(String(req.headers['http2-settings']));
  if (typeof decoded === 'string') return { status: 400, why: decoded };
  const connection = String(req.headers.connection ?? '')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  if (!connection.includes('http2-settings')) return { status: 400, why: 'Connection must list HTTP2-Settings' };
  if (req.headers['transfer-encoding'] !== undefined)
    return { status: 411, why: 'an h2c upgrade carries a body with Content-Length only' };
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > MAX_UPGRADE_BODY)
    return { status: 413, why: `an h2c upgrade carries a body of ${MAX_UPGRADE_BODY} bytes at most` };
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
 * them). The HTTP2-Settings values apply as if received on the connection (RFC 9113 section
 * 3.2) and before the client's own SETTINGS: they go at the head of that frame's payload, so
 * the session applies both in order and acknowledges one frame, the one the client sent (the
 * 101 acknowledges HTTP2-Settings). Bytes that are not a preface go through untouched: the
 * session refuses them.
 */
export function spliceUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  timeoutMs: number,
  serve: (socket: Duplex) => void,
): void {
  const length = Number(req.headers['content-length'] ?? 0);
  // Checked by upgradeError before the 101.
  const upgradeSettings = decodeHttp2Settings(String(req.headers['http2-settings'])) as Buffer;
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
    // Not a SETTINGS frame the session would take (an ACK, on a stream, over the 16 KiB frame
    // size): handed over as it stands, for the session to refuse; nothing large is buffered.
    if (
      seen[PREFACE.length + 3] !== 0x4 ||
      (seen[PREFACE.length + 4]! & 0x1) !== 0 ||
      seen.readUInt32BE(PREFACE.length + 5) !== 0 ||
      settingsEnd - PREFACE.length - 9 > 16384
    )
      return handOver(seen);
    if (seen.length < settingsEnd) return;
    const clientSettings = seen.subarray(PREFACE.length + 9, settingsEnd);
    handOver(
      Buffer.concat([
        PREFACE,
        frame(0x4, seen[PREFACE.length + 4]!, 0, Buffer.concat([upgradeSettings, clientSettings])),
        requestFrames(1, requestFields(req), body),
        seen.subarray(settingsEnd),
      ]),
    );
  };
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    check();
  };
  const onGone = () => {
    cleanup();
    socket.destroy();
  };
  socket.on('data', onData);
  socket.on('error', onGone);
  socket.on('close', onGone);
  if (timeoutMs > 0) timer = setTimeout(onGone, timeoutMs);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  check();
}
