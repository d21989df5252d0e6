// Turns the path part of a request URL into a path inside a static root, or says why not.
// Every check is on the URL as sent and again after decoding, so that %2e%2e, %2f, %5c and
// %00 cannot smuggle what the raw form would be refused for.

export type SafePath = { ok: true; path: string } | { ok: false; status: 400 | 404; reason: string };

export function safeRelativePath(rawPath: string): SafePath {
  // An encoded slash or backslash would let a segment hide a separator: never legitimate here.
  if (/%(?:2f|5c|00)/i.test(rawPath)) return { ok: false, status: 400, reason: 'encoded separator or NUL in path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  if (decoded.includes('\0')) return { ok: false, status: 400, reason: 'NUL byte in path' };
  if (decoded.includes('\\')) return { ok: false, status: 400, reason: 'backslash in path' };
  if (!decoded.startsWith('/')) return { ok: false, status: 400, reason: 'path must start with /' };
  for (const segment of decoded.split('/')) {
    if (segment === '..' || segment === '.') return { ok: false, status: 400, reason: 'dot segment in path' };
  }
  return { ok: true, path: decoded };
}
