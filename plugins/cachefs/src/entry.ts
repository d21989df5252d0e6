// What the tiers keep: a stored response (an entry) or, under a URL whose response varies, the
// names of the request fields it varies on (a vary marker). Both serialise to one checksummed
// record for the disk tier.
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { Buffer } from 'node:buffer';

export type StoredHeaders = Record<string, string | string[]>;

export interface Entry {
  readonly kind: 'entry';
  readonly key: string;
  readonly status: number;
  readonly reason: string;
  /** The response's headers (lower-case names), as stored: no X-Cache, no hop-by-hop fields. */
  headers: StoredHeaders;
  readonly body: Buffer;
  /** When the request that got this response went out, and when its head came back (ms). */
  requestTime: number;
  responseTime: number;
  /** The response's Date (ms; the response time when it had none). */
  dateValue: number;
  /** The response's Age (s). */
  ageValue: number;
  /** Freshness lifetime (s); 0 when it must be revalidated each time. */
  lifetime: number;
  /** `no-cache`: served only after a revalidation. */
  noCache: boolean;
  /** Bytes it is counted for in a tier. */
  readonly size: number;
  /** The head of a HIT, made once and handed to writeHead as it is, its Age rewritten as it grows (not on disk). */
  hitHead?: Record<string, string | string[] | number>;
  hitAge?: number;
  /** hitHead as a flat [name, value ...] list for writeReadyHead, its Age at hitFlatAge; null when a field cannot be written. */
  hitFlat?: Array<string | string[]> | null;
  hitFlatAge?: number;
  /**
   * Where the hot index (HttpCache.hot) has it: the path it is found by, the mount (or the
   * forward proxy) and Host it was asked through. Only an entry stored under its own key.
   */
  hotPath?: string;
  hotScope?: object;
  hotHost?: string;
  /** The whole answer of a HIT (status, hitHead, body), reused as is (not on disk). */
  hitAnswer?: { status: number; headers: OutgoingHttpHeaders; body: Buffer };
}

export interface VaryMarker {
  readonly kind: 'vary';
  readonly key: string;
  /** Lower-case request field names, sorted. */
  readonly names: string[];
  readonly size: number;
}

export type Item = Entry | VaryMarker;

/** What an item costs a tier beyond its body: its key, headers and fields. */
export function overhead(key: string, headers: StoredHeaders | string[]): number {
  return 128 + key.length * 2 + JSON.stringify(headers).length;
}

/** The age of an entry now, seconds (RFC 9111 4.2.3). */
export function currentAge(e: Entry, now: number): number {
  const apparentAge = Math.max(0, e.responseTime - e.dateValue) / 1000;
  const responseDelay = (e.responseTime - e.requestTime) / 1000;
  const correctedInitialAge = Math.max(apparentAge, e.ageValue + responseDelay);
  return correctedInitialAge + (now - e.responseTime) / 1000;
}

// ---- disk records -----------------------------------------------------------------------
// MAGIC, meta length (uint32 BE), meta (JSON), body, SHA-256 of everything before it. A record
// that is short, long, of another key or whose digest differs is not an entry.

const MAGIC = Buffer.from('SKCF1\n', 'latin1');
const DIGEST = 32;

interface Meta {
  kind: 'entry' | 'vary';
  key: string;
  status?: number;
  reason?: string;
  headers?: StoredHeaders;
  names?: string[];
  requestTime?: number;
  responseTime?: number;
  dateValue?: number;
  ageValue?: number;
  lifetime?: number;
  noCache?: boolean;
  bodyLength: number;
}

export function encode(item: Item): Buffer {
  const meta: Meta =
    item.kind === 'vary'
      ? { kind: 'vary', key: item.key, names: item.names, bodyLength: 0 }
      : {
          kind: 'entry',
          key: item.key,
          status: item.status,
          reason: item.reason,
          headers: item.headers,
          requestTime: item.requestTime,
          responseTime: item.responseTime,
          dateValue: item.dateValue,
          ageValue: item.ageValue,
          lifetime: item.lifetime,
          noCache: item.noCache,
          bodyLength: item.body.length,
        };
  const metaBuf = Buffer.from(JSON.stringify(meta), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(metaBuf.length);
  const body = item.kind === 'entry' ? item.body : Buffer.alloc(0);
  const hash = createHash('sha256').update(MAGIC).update(len).update(metaBuf).update(body).digest();
  return Buffer.concat([MAGIC, len, metaBuf, body, hash]);
}

/** The item a record holds, or undefined when the record is damaged or of another key. */
export function decode(buf: Buffer, key: string): Item | undefined {
  const head = MAGIC.length + 4;
  if (buf.length < head + DIGEST || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const metaLength = buf.readUInt32BE(MAGIC.length);
  if (head + metaLength + DIGEST > buf.length) return undefined;
  const digest = createHash('sha256')
    .update(buf.subarray(0, buf.length - DIGEST))
    .digest();
  if (!digest.equals(buf.subarray(buf.length - DIGEST))) return undefined;
  let meta: Meta;
  try {
    meta = JSON.parse(buf.subarray(head, head + metaLength).toString('utf8')) as Meta;
  } catch {
    return undefined;
  }
  if (meta === null || typeof meta !== 'object' || meta.key !== key) return undefined;
  const bodyStart = head + metaLength;
  if (buf.length - DIGEST - bodyStart !== meta.bodyLength) return undefined;
  if (meta.kind === 'vary') {
    if (!Array.isArray(meta.names)) return undefined;
    return { kind: 'vary', key, names: meta.names, size: overhead(key, meta.names) };
  }
  if (
    meta.kind !== 'entry' ||
    typeof meta.status !== 'number' ||
    typeof meta.headers !== 'object' ||
    meta.headers === null
  )
    return undefined;
  // A copy: the record's buffer is not kept alive by a slice of it.
  const body = Buffer.from(buf.subarray(bodyStart, bodyStart + meta.bodyLength));
  return {
    kind: 'entry',
    key,
    status: meta.status,
    reason: meta.reason ?? '',
    headers: meta.headers,
    body,
    requestTime: Number(meta.requestTime),
    responseTime: Number(meta.responseTime),
    dateValue: Number(meta.dateValue),
    ageValue: Number(meta.ageValue),
    lifetime: Number(meta.lifetime),
    noCache: meta.noCache === true,
    size: body.length + overhead(key, meta.headers),
  };
}
