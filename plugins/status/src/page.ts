// statusPage(): the Mountable that serves the status page, its JSON and its Prometheus text,
// behind an address allow list and optional Basic credentials. Mounting it turns on the
// kernel's request counters and defines was.status(); nothing is counted otherwise.
import type { Kernel, Mountable, RequestHandler, ServerStatus, SkitaiRequest, SkitaiResponse } from '@skitai/kernel';
import { prefersJson, sendBody, sendError } from '@skitai/kernel';
import { allowedSource, authenticated, checkUsers, DEFAULT_ALLOW, parseAllow } from './access.js';
import { toHtml, type Rates } from './html.js';
import { PROMETHEUS_CONTENT_TYPE, toPrometheus } from './prometheus.js';
import { codes } from './errors.js';

export const NAME = '@skitai/status';

declare module '@skitai/kernel' {
  interface Was {
    /**
     * The whole server's status (every process, gathered through the master): `await was.status()`,
     * or the HTML page with `await was.status('html')`. Defined where a statusPage() is mounted. (@skitai/status)
     */
    readonly status: StatusFunction;
  }
}

export interface StatusFunction {
  (): Promise<ServerStatus>;
  (format: 'html'): Promise<string>;
  (format: 'prometheus'): Promise<string>;
}

export interface StatusPageOptions {
  /** Client networks allowed (default loopback: ['127.0.0.1/8', '::1/128']). */
  allow?: readonly string[];
  /** When given, HTTP Basic credentials of one of these users are required too: { name: password }. */
  users?: Readonly<Record<string, string>>;
  /** The realm shown by browsers asking for credentials (default 'Skitai status'). */
  realm?: string;
}

const defined = new WeakSet<Kernel>();

/** `kernel.mount('/status', statusPage({ allow: ['127.0.0.1/32'], users: { admin: 'secret' } }))`. */
export function statusPage(options: StatusPageOptions = {}): Mountable {
  if (typeof options !== 'object' || options === null) throw codes.SKT_STATUS_OPTION('options', options, 'an object');
  const allow = parseAllow(options.allow ?? DEFAULT_ALLOW);
  const users = checkUsers(options.users);
  const realm = (options.realm ?? 'Skitai status').replace(/["\\\r\n]/g, '');
  // Requests per second since the previous read, per process (pid) seen by this worker.
  const previous = new Map<string, { at: number; received: number }>();

  function rates(status: ServerStatus): Map<string, Rates> {
    const out = new Map<string, Rates>();
    for (const p of status.processes) {
      if (p.requests === undefined) continue;
      const key = `${p.id}:${p.pid}`;
      const prev = previous.get(key);
      if (prev !== undefined && status.generatedAt > prev.at)
        out.set(key, { recent: ((p.requests.received - prev.received) * 1000) / (status.generatedAt - prev.at) });
      previous.set(key, { at: status.generatedAt, received: p.requests.received });
    }
    return out;
  }

  return {
    was: { owner: NAME, members: ['status'] },
    mountTo(kernel: Kernel): RequestHandler {
      kernel.enableMetrics();
      if (!defined.has(kernel)) {
        defined.add(kernel);
        kernel.extendWas(
          'status',
          (w) =>
            (async (format?: string) => {
              const status = await w.kernel.collectStatus();
              if (format === 'html') return toHtml(status, rates(status));
              if (format === 'prometheus') return toPrometheus(status);
              return status;
            }) as StatusFunction,
          NAME,
        );
      }
      return (req: SkitaiRequest, res: SkitaiResponse) => {
        if (!allowedSource(allow, req.socket.remoteAddress))
          return sendError(req, res, 403, 'the status page is not served to this address');
        if (users !== undefined) {
          const user = authenticated(users, req);
          if (user === undefined) {
            res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
            return sendError(req, res, 401, 'the status page needs a user name and password');
          }
          req.user = user;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.setHeader('Allow', 'GET, HEAD');
          return sendError(req, res, 405, `${req.method} is not served here`);
        }
        const q = req.url!.indexOf('?');
        const path = q === -1 ? req.url! : req.url!.slice(0, q);
        if (path !== '/' && path !== '' && path !== '/metrics')
          return sendError(req, res, 404, `${req.originalUrl} was not found on this server`);
        return kernel.collectStatus().then((status) => {
          res.setHeader('Cache-Control', 'no-store');
          if (path === '/metrics')
            return sendBody(req, res, 200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE }, toPrometheus(status));
          if (prefersJson(req))
            return sendBody(
              req,
              res,
              200,
              { 'Content-Type': 'application/json; charset=utf-8' },
              JSON.stringify(status),
            );
          return sendBody(req, res, 200, { 'Content-Type': 'text/html; charset=utf-8' }, toHtml(status, rates(status)));
        });
      };
    },
  };
}
