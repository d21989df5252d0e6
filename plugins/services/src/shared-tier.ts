// The result cache's shared tier: results cross instances as JSON through the kernel's
// instance bridge (`@skitai/shared` keeps them in Redis). Only plain HTTP results go there
// (a plugin's own result classes stay in this process's cache).
import crypto from 'node:crypto';
import type { SharedCache } from '@skitai/kernel';
import { Result, Results, type ResultInit } from './result.js';
import { Buffer } from 'node:buffer';

type Value = Result | Results;

interface Wire {
  s: number;
  x: number;
  m: 'one' | 'map';
  r: Array<Omit<ResultInit, 'data' | 'content' | 'error' | 'body'> & { d?: { b?: string; j?: unknown }; c?: string }>;
}

/** Redis keys stay short whatever the call's headers and body. */
export function tierKey(key: string): string {
  return `rc:${crypto.createHash('sha256').update(key).digest('base64url')}`;
}

function plain(r: unknown): r is Result {
  return r instanceof Result && Object.getPrototypeOf(r) === Result.prototype;
}

export function encodeResult(value: Value, storedAt: number, expiresAt: number): Buffer | undefined {
  const items = value instanceof Results ? [...value] : [value];
  if (!items.every(plain)) return undefined;
  const wire: Wire = {
    s: storedAt,
    x: expiresAt,
    m: value instanceof Results ? 'map' : 'one',
    r: items.map((r) => ({
      status: r.status,
      statusCode: r.statusCode,
      reason: r.reason,
      headers: r.headers,
      url: r.url,
      method: r.method,
      member: r.member,
      elapsed: r.elapsed,
      ltxnId: r.ltxnId,
      d: r.data === undefined ? undefined : Buffer.isBuffer(r.data) ? { b: r.data.toString('base64') } : { j: r.data },
      c: r.content?.toString('base64'),
    })),
  };
  try {
    return Buffer.from(JSON.stringify(wire));
  } catch {
    return undefined; // data JSON cannot carry
  }
}

export function decodeResult(buf: Buffer): { value: Value; storedAt: number; expiresAt: number } | undefined {
  let wire: Wire;
  try {
    wire = JSON.parse(buf.toString('utf8')) as Wire;
  } catch {
    return undefined;
  }
  if (!wire || !Array.isArray(wire.r) || typeof wire.s !== 'number' || typeof wire.x !== 'number') return undefined;
  const items = wire.r.map(
    ({ d, c, ...init }) =>
      new Result({
        ...init,
        data: d === undefined ? undefined : d.b !== undefined ? Buffer.from(d.b, 'base64') : d.j,
        content: c === undefined ? undefined : Buffer.from(c, 'base64'),
      }),
  );
  const value = wire.m === 'map' ? Results.wrap(items) : items[0];
  if (value === undefined) return undefined;
  return { value, storedAt: wire.s, expiresAt: wire.x };
}

export type { SharedCache };
