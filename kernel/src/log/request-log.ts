import { clockMs } from '../http/clock.js';
import type { SkitaiRequest } from '../http/request.js';
import type { SkitaiResponse } from '../http/response.js';
import type { LogSink } from './log-file.js';
import { ensureTxn } from './txn.js';
import { headBytes } from '../http/node-internals.js';

/** One request as logged; given to `hooks.responseLogged` taps. */
export interface LogRecord {
  readonly line: string;
  readonly req: SkitaiRequest;
  /** undefined for a request answered on its own socket (an upgrade or CONNECT: kernel.logRequest()). */
  readonly res: SkitaiResponse | undefined;
  readonly status: number;
  readonly handlingMs: number;
  readonly sendingMs: number;
}

/** The 21 fields of a request log line (Skitai's order), for parsers and tests. */
export const REQUEST_LOG_FIELDS = [
  'date',
  'time',
  'clientIp',
  'host',
  'method',
  'uri',
  'version',
  'requestBytes',
  'status',
  'responseBytes',
  'gtxnId',
  'ltxnId',
  'user',
  'bearer',
  'referer',
  'userAgent',
  'forwardedFor',
  'workerId',
  'connections',
  'handlingMs',
  'sendingMs',
] as const;

// "2016.12.30 18:05:06": formatted at most once a second.
let lastSecond = -1;
let lastStamp = '';
function dateTime(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    const d = new Date(now);
    const p = (n: number) => (n < 10 ? '0' : '') + n;
    lastStamp = `${d.getFullYear()}.${p(d.getMonth() + 1)}.${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }
  return lastStamp;
}

/** A bare field: no spaces or control characters can split the line or forge another. */
function bare(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  return /[\s\x00-\x1f\x7f"]/.test(value)
    ? value.replace(/[\s\x00-\x1f\x7f"]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    : value;
}

/** A quoted field, '-' when empty (Skitai's user, referer and user agent). */
function quoted(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/[\x00-\x1f\x7f]/g, ' ')}"`;
}

/** The bearer token is a credential: log only enough of it to tell tokens apart. */
function bearer(auth: string | undefined): string {
  if (auth === undefined || auth.length < 8 || auth.slice(0, 7).toLowerCase() !== 'bearer ') return '-';
  const token = auth.slice(7).trim();
  return token.length > 10 ? bare(`${token.slice(0, 6)}...`) : '***';
}

function ms(value: number): string {
  return `${Math.max(0, Math.round(value))}ms`;
}

export interface RequestLogContext {
  sink: LogSink;
  workerId: string;
  connections: () => number;
  /** Path prefixes ('/static/') and suffixes ('*.css') not to log. */
  offPrefixes: string[];
  offSuffixes: string[];
  onLogged?: (record: LogRecord) => void;
}

export function isLogOff(ctx: RequestLogContext, url: string): boolean {
  if (ctx.offPrefixes.length === 0 && ctx.offSuffixes.length === 0) return false;
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  for (const p of ctx.offPrefixes) if (pathname.startsWith(p)) return true;
  for (const s of ctx.offSuffixes) if (pathname.endsWith(s)) return true;
  return false;
}

function lineOf(
  ctx: RequestLogContext,
  req: SkitaiRequest,
  status: number,
  responseBytes: number,
  now: number,
  handling: number,
  sending: number,
): string {
  ensureTxn(req);
  const h = req.headers;
  const contentLength = h['content-length'];
  const requestBytes = contentLength !== undefined ? Number(contentLength) || 0 : req.bodyBytes;
  const socket = req.socket;
  return (
    `${dateTime(now)} ${bare(socket?.remoteAddress)} ${bare(h.host)} ${bare(req.method)} ${bare(req.originalUrl || req.url)} ` +
    `HTTP/${req.httpVersion} ${requestBytes} ${status} ${responseBytes} ${req.gtxnId} ${req.ltxnId} ` +
    `${quoted(req.user)} ${bearer(h.authorization)} ${quoted(h.referer)} ${quoted(h['user-agent'])} ` +
    `${bare(h['x-forwarded-for'] as string | undefined)} ${ctx.workerId} ${ctx.connections()} ${ms(handling)} ${ms(sending)}\n`
  );
}

export function formatRequestLine(
  ctx: RequestLogContext,
  req: SkitaiRequest,
  res: SkitaiResponse,
  now: number,
  end: number,
): { line: string; handling: number; sending: number } {
  const headAt = res.headAt || end;
  const handling = headAt - req.startedAt;
  const sending = end - headAt;
  const socket = req.socket;
  const headerLength = headBytes(res);
  const responseBytes = socket ? Math.max(0, socket.bytesWritten - (res.socketBytesAtStart ?? 0) - headerLength) : 0;
  return { line: lineOf(ctx, req, res.statusCode, responseBytes, now, handling, sending), handling, sending };
}

/** The line of a request answered on its own socket (an upgrade or CONNECT), when it is answered or its tunnel ends. */
export function logSocketRequest(
  ctx: RequestLogContext,
  req: SkitaiRequest,
  status: number,
  responseBytes: number,
): void {
  const handling = req.startedAt > 0 ? clockMs() - req.startedAt : 0;
  const line = lineOf(ctx, req, status, responseBytes, Date.now(), handling, 0);
  ctx.sink.write(line);
  if (ctx.onLogged) ctx.onLogged({ line, req, res: undefined, status, handlingMs: handling, sendingMs: 0 });
}

/** Writes the line for one response (finished or aborted). */
export function logRequest(ctx: RequestLogContext, req: SkitaiRequest, res: SkitaiResponse): void {
  const end = clockMs();
  const { line, handling, sending } = formatRequestLine(ctx, req, res, Date.now(), end);
  ctx.sink.write(line);
  if (ctx.onLogged) ctx.onLogged({ line, req, res, status: res.statusCode, handlingMs: handling, sendingMs: sending });
}

/** Splits a log line into its fields, honouring the quoted ones (for tests and tools). */
export function parseRequestLine(line: string): string[] {
  const fields: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line.trim())) !== null) fields.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return fields;
}
