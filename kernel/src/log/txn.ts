import { Buffer } from 'node:buffer';
import process from 'node:process';
import type { SkitaiRequest } from '../http/request.js';
// Not `import from 'node:crypto'`: an ESM import of a builtin fills its whole namespace, which
// loads node's webcrypto at start; these three functions are all this needs.
const { createHash, randomBytes, randomFillSync } = process.getBuiltinModule('node:crypto');

// Transaction ids: a global id per incoming call, kept from X-Gtxn-Id when one arrives; a local id
// starting at 1000 (its first digit is the call depth), kept from X-Ltxn-Id.
/** Ids from outside are written to logs and forwarded: accept only short, plain tokens. */
const safeId = /^[A-Za-z0-9._:-]{1,64}$/;
/** W3C Trace Context: version-traceid-parentid-flags (version ff is invalid). */
const traceparentRe = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const zeroTrace = '0'.repeat(32);
const zeroSpan = '0'.repeat(16);
const traceIdRe = /^[0-9a-f]{32}$/;
/** The last global id traceIdOf mapped, and its trace id. */
let lastGtxn = '';
let lastTrace = '';

// A fresh global id is 16 random bytes in hex: a W3C trace id as it is, so the calls made for
// the request send it in their traceparent without hashing it. The bytes come from a buffer
// refilled every 256 ids (one call into the CSPRNG instead of one per request).
const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;

/** A new global transaction id: 32 lowercase hex digits, never all zeros. */
export function nextGlobalId(): string {
  let id: string;
  do {
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    id = pool.toString('hex', offset, (offset += 16));
  } while (id === zeroTrace);
  // The next traceIdOf(id) is the id itself: remember it as the last one mapped.
  lastGtxn = lastTrace = id;
  return id;
}

/** The trace id of a valid `traceparent` header, or undefined. */
function parseTraceparent(value: unknown): { traceId: string; flags: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const m = traceparentRe.exec(value.trim());
  if (m === null || m[1] === 'ff' || m[2] === zeroTrace || m[3] === zeroSpan) return undefined;
  // Version 00 has exactly four fields; later versions may add more after a dash.
  if (m[1] === '00' && value.trim().length !== 55) return undefined;
  return { traceId: m[2]!, flags: m[4]! };
}

/**
 * Fills req.gtxnId and req.ltxnId once; called by the log and by outgoing `was` calls. Without
 * X-Gtxn-Id, a valid W3C `traceparent`'s trace id becomes the global id, so a trace started by
 * an OpenTelemetry-instrumented client shows under its trace id in the request log.
 */
export function ensureTxn(req: SkitaiRequest): void {
  if (req.gtxnId !== '') return;
  const g = req.headers['x-gtxn-id'];
  const l = req.headers['x-ltxn-id'];
  if (typeof g === 'string' && safeId.test(g)) req.gtxnId = g;
  else req.gtxnId = parseTraceparent(req.headers.traceparent)?.traceId ?? nextGlobalId();
  req.ltxnId = typeof l === 'string' && safeId.test(l) ? l : '1000';
}

/**
 * The W3C trace id of a global transaction id: the id itself when it is one (32 lowercase hex,
 * not all zeros, as every id nextGlobalId makes), otherwise the first 16 bytes of its SHA-256,
 * so every hop that forwards the same X-Gtxn-Id computes the same trace id.
 */
export function traceIdOf(gtxnId: string): string {
  // The calls of one request share their global id: map it once.
  if (gtxnId === lastGtxn) return lastTrace;
  lastTrace =
    gtxnId.length === 32 && traceIdRe.test(gtxnId) && gtxnId !== zeroTrace
      ? gtxnId
      : createHash('sha256').update(gtxnId).digest('hex').slice(0, 32);
  lastGtxn = gtxnId;
  return lastTrace;
}

/** 1 to 16 decimal digits, not all zeros: a local id that can stand as a span id. */
function isSpanDigits(id: string): boolean {
  const n = id.length;
  if (n === 0 || n > 16) return false;
  let nonZero = false;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    if (c !== 48) nonZero = true;
  }
  return nonZero;
}

/**
 * The `traceparent` (and `tracestate`, when one came in) for an outgoing call made while
 * serving `req` (or outside any request, with `req` undefined): the incoming trace id (or the
 * one the global id maps to), the local transaction id of the call as the parent span id
 * (16 hex digits), the incoming flags (sampled, 01, by default).
 */
export function traceHeaders(
  req: SkitaiRequest | undefined,
  gtxnId: string,
  ltxnId: string,
): { traceparent: string; tracestate?: string } {
  const incoming = req?.headers !== undefined ? parseTraceparent(req.headers.traceparent) : undefined;
  const traceId = incoming?.traceId ?? traceIdOf(gtxnId);
  const digits = isSpanDigits(ltxnId) ? ltxnId : randomBytes(8).toString('hex');
  const traceparent = `00-${traceId}-${digits.padStart(16, '0')}-${incoming?.flags ?? '01'}`;
  const state = req?.headers?.tracestate;
  const tracestate = typeof state === 'string' ? state : Array.isArray(state) ? state.join(',') : undefined;
  return tracestate !== undefined && tracestate.length <= 512 && incoming !== undefined
    ? { traceparent, tracestate }
    : { traceparent };
}
