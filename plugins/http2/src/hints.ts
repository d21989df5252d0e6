import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session, ServerHttp2Stream, IncomingHttpHeaders } from 'node:http2';

/** A resource to push or to announce: a path on this origin, or the path with its `as` destination. */
export type Hint = string | { path: string; as?: string; crossorigin?: boolean };

export interface HintResult {
  /** Paths pushed (HTTP/2 clients that accept push). */
  pushed: string[];
  /** Paths announced in a 103 Early Hints response. */
  hinted: string[];
}

/** How pushed requests are served: set per session by the plugin (the kernel's request path). */
export interface PushTarget {
  enabled: boolean;
  serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
}

const targets = new WeakMap<Http2Session, PushTarget>();

export function setPushTarget(session: Http2Session, target: PushTarget): void {
  targets.set(session, target);
}

const DESTINATIONS: Record<string, string> = {
  css: 'style',
  js: 'script',
  mjs: 'script',
  woff: 'font',
  woff2: 'font',
  ttf: 'font',
  otf: 'font',
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  webp: 'image',
  avif: 'image',
  svg: 'image',
  ico: 'image',
  json: 'fetch',
};

function describe(hint: Hint): { path: string; as: string | undefined; crossorigin: boolean } {
  const h = typeof hint === 'string' ? { path: hint } : hint;
  if (
    h === null ||
    typeof h !== 'object' ||
    typeof h.path !== 'string' ||
    !h.path.startsWith('/') ||
    h.path.startsWith('//') ||
    /[\s<>]/.test(h.path)
  ) {
    throw new TypeError(`@skitai/http2: a hint is a path on this origin ("/app.css"), got ${JSON.stringify(hint)}`);
  }
  const q = h.path.search(/[?#]/);
  const ext = (q === -1 ? h.path : h.path.slice(0, q)).split('.').pop()!.toLowerCase();
  const as = h.as ?? DESTINATIONS[ext];
  // Fonts and fetches are requested in CORS mode: the preload must say so to be used.
  return { path: h.path, as, crossorigin: h.crossorigin ?? (as === 'font' || as === 'fetch') };
}

/** The `Link` value of a preload: `</app.css>; rel=preload; as=style`. */
export function preloadLink(hint: Hint): string {
  const d = describe(hint);
  return `<${d.path}>; rel=preload${d.as ? `; as=${d.as}` : ''}${d.crossorigin ? '; crossorigin' : ''}`;
}

// Request fields a pushed request takes from the request that caused it (as nginx did): the
// answer then has the encoding, language and session the client's own request would have had.
const INHERITED = ['accept-encoding', 'accept-language', 'user-agent', 'cookie'];

function pushOne(stream: ServerHttp2Stream, req: IncomingMessage, target: PushTarget, path: string): boolean {
  const h = req.headers as IncomingHttpHeaders;
  const headers: Record<string, string> = {
    ':method': 'GET',
    ':path': path,
    ':scheme': String(h[':scheme'] ?? 'https'),
    ':authority': String(h[':authority'] ?? h.host ?? ''),
  };
  for (const name of INHERITED) if (typeof h[name] === 'string') headers[name] = h[name] as string;
  try {
    stream.pushStream(headers, (err, pushed, pushedHeaders) => {
      if (err) return; // the client refused or closed: it will ask for the resource itself
      pushed.on('error', () => {}); // a client may reset a push it has in cache (RST_STREAM CANCEL)
      target.serve(pushed, pushedHeaders as IncomingHttpHeaders);
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Skitai's `was.response.hintPromise(uri)` for any handler: tells the client about resources
 * the page will need before the page itself goes out. To an HTTP/2 client that accepts push
 * (SETTINGS_ENABLE_PUSH) each path is pushed, served by the kernel's request path as a GET;
 * otherwise (browsers today: Chrome and Firefox turned push off, and HTTP/1.1 clients) the
 * paths go out in one `103 Early Hints` response as `Link: <path>; rel=preload`, which
 * browsers act on over HTTP/2. Give every path in one call: browsers read the first 103 only.
 * Call it before the response's head is written; afterwards it does nothing.
 */
export function hintPromise(req: IncomingMessage, res: ServerResponse, ...hints: Hint[]): HintResult {
  const result: HintResult = { pushed: [], hinted: [] };
  if (res.headersSent || hints.length === 0) return result;
  const described = hints.map(describe);
  const stream = req.httpVersionMajor === 2 ? (req as unknown as { stream: ServerHttp2Stream }).stream : undefined;
  const target = stream === undefined ? undefined : targets.get(stream.session!);
  const rest: typeof described = [];
  for (const d of described) {
    if (
      stream !== undefined &&
      target !== undefined &&
      target.enabled &&
      stream.pushAllowed &&
      !stream.destroyed &&
      pushOne(stream, req, target, d.path)
    )
      result.pushed.push(d.path);
    else rest.push(d);
  }
  // 1xx responses do not exist in HTTP/1.0.
  if (rest.length > 0 && (req.httpVersionMajor > 1 || req.httpVersionMinor >= 1)) {
    const link = rest.map(
      (d) => `<${d.path}>; rel=preload${d.as ? `; as=${d.as}` : ''}${d.crossorigin ? '; crossorigin' : ''}`,
    );
    try {
      // node:http returns nothing, node:http2's compatibility response false when it could not send.
      if ((res.writeEarlyHints({ link }) as unknown) !== false) result.hinted.push(...rest.map((d) => d.path));
    } catch {
      /* the stream or socket is gone */
    }
  }
  return result;
}
