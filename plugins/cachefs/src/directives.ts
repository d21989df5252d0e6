// Cache-Control and the other header fields RFC 9111 reads, parsed once per message.

/** Directives by lower-case name; a directive without a value is `true`. */
export type Directives = Map<string, string | true>;

const EMPTY: Directives = new Map();

/** Parses Cache-Control (one value or several header lines); quoted values are unquoted. */
export function parseCacheControl(value: string | string[] | number | undefined): Directives {
  if (value === undefined) return EMPTY;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  if (text === '') return EMPTY;
  const out: Directives = new Map();
  const re = /([^=,\s"]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const name = m[1]!.toLowerCase();
    const raw = m[2]?.trim();
    const value = raw === undefined ? true : raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    // A repeated directive keeps its first value.
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

/**
 * A delta-seconds value (`max-age=60`), or undefined when absent. A malformed one is 0 (RFC
 * 9111 1.2.2: treat it as stale), a huge one 2^31.
 */
export function deltaSeconds(d: Directives, name: string): number | undefined {
  const v = d.get(name);
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) return 0;
  return Math.min(Number(v), 2 ** 31);
}

/** An HTTP date in ms, or NaN. */
export function httpDate(value: string | string[] | number | undefined): number {
  if (value === undefined || Array.isArray(value)) return NaN;
  return Date.parse(String(value));
}

/**
 * The freshness lifetime a shared cache gives a response, seconds (RFC 9111 4.2.1): s-maxage,
 * max-age, or Expires less Date; undefined when none is given (no heuristic freshness here).
 */
export function freshnessLifetime(
  d: Directives,
  expires: string | string[] | number | undefined,
  dateValue: number,
): number | undefined {
  const s = deltaSeconds(d, 's-maxage');
  if (s !== undefined) return s;
  const m = deltaSeconds(d, 'max-age');
  if (m !== undefined) return m;
  if (expires === undefined) return undefined;
  const t = httpDate(expires);
  // An invalid Expires (`0`, `-1`) means already expired.
  return Number.isNaN(t) ? 0 : Math.max(0, (t - dateValue) / 1000);
}

/** One header value as text (several lines joined as HTTP does). */
export function headerText(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Vary's field names, lower-case; `['*']` for Vary: *. */
export function varyNames(value: string | string[] | number | undefined): string[] {
  const text = headerText(value);
  if (text === undefined) return [];
  const names = new Set<string>();
  for (const part of text.split(',')) {
    const n = part.trim().toLowerCase();
    if (n !== '') names.add(n);
  }
  return [...names].sort();
}

/** Whether If-None-Match (a list, or *) matches an entity tag, by weak comparison. */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  const want = strip(etag);
  return ifNoneMatch.split(',').some((t) => strip(t) === want);
}
