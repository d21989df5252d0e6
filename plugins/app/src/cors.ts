// CORS: the allowed origin on actual responses, and preflight answers.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsPolicy {
  origins: readonly string[];
  maxAge: number | undefined;
}

export function corsPolicy(
  origins: readonly string[] | string | undefined,
  maxAge: number | undefined,
): CorsPolicy | undefined {
  if (!origins || origins.length === 0) return undefined;
  return { origins: typeof origins === 'string' ? [origins] : origins, maxAge };
}

function allowed(policy: CorsPolicy, origin: string): boolean {
  return policy.origins.includes('*') || policy.origins.includes(origin);
}

/** True when this is a preflight request (OPTIONS with Origin and Access-Control-Request-Method). */
export function isPreflight(req: IncomingMessage): boolean {
  return (
    req.method === 'OPTIONS' &&
    req.headers.origin !== undefined &&
    req.headers['access-control-request-method'] !== undefined
  );
}

/** Headers for a response to a cross-origin request; false when the origin is not allowed. */
export function applyCors(policy: CorsPolicy, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (!allowed(policy, origin)) return false;
  res.setHeader('Access-Control-Allow-Origin', policy.origins.includes('*') ? '*' : origin);
  if (!policy.origins.includes('*')) res.setHeader('Vary', 'Origin');
  return true;
}

/** Answers a preflight: 204 with the allowed methods and headers, 403 for another origin. */
export function answerPreflight(
  policy: CorsPolicy,
  req: IncomingMessage,
  res: ServerResponse,
  methods: readonly string[],
): void {
  if (!applyCors(policy, req, res)) {
    res.writeHead(403, { 'Content-Length': 0 });
    res.end();
    return;
  }
  res.setHeader('Access-Control-Allow-Methods', methods.join(', '));
  const asked = req.headers['access-control-request-headers'];
  if (asked) res.setHeader('Access-Control-Allow-Headers', asked);
  if (policy.maxAge !== undefined) res.setHeader('Access-Control-Max-Age', String(policy.maxAge));
  res.writeHead(204, { 'Content-Length': 0 });
  res.end();
}
