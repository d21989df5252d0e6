// A route: its rule, options and handler, compiled once at app.route().
import { Rule } from './router.js';
import { compileParams, type Args, type ParamSpec } from './params.js';
import type { Was } from '@skitai/kernel';

export type Handler = (was: Was, args: Args) => unknown;

export interface CorsOptions {
  /** Origins allowed, or ['*']. */
  accessControlAllowOrigin?: readonly string[] | string;
  /** Seconds a preflight answer may be cached. */
  accessControlMaxAge?: number;
}

export interface RouteOptions extends CorsOptions {
  /** A name for was.ab() (default: the handler's function name, else the rule). */
  name?: string;
  /** Allowed methods (default: any). HEAD is allowed wherever GET is. */
  methods?: readonly string[];
  /** Accepted request content types for requests with a body (415 otherwise). */
  contentTypes?: readonly string[];
  /**
   * The parameters the handler takes: 'name', 'name?' (optional), '...' (accept others).
   * When given (or `defaults` is), an unexpected or a missing parameter is a 400.
   */
  params?: readonly string[];
  /** Default values: declares optional parameters and fills them when absent. */
  defaults?: Record<string, unknown>;
  /** Require HTTP authentication (app.authorization) for this route. */
  authenticate?: boolean;
  /** Do not read the body: the handler streams was.req itself. */
  stream?: boolean;
}

export class Route {
  readonly rule: Rule;
  readonly name: string;
  readonly methods: Set<string> | undefined;
  readonly contentTypes: string[] | undefined;
  readonly params: ParamSpec | undefined;
  readonly options: RouteOptions;
  /**
   * No content types and no CORS of its own: selecting it takes the method check only (the
   * app's CORS is checked apart, as it may change after the route is made).
   */
  readonly plain: boolean;
  handler: Handler;

  constructor(rule: string, options: RouteOptions, handler: Handler) {
    if (typeof handler !== 'function') throw new TypeError(`route ${rule}: the handler must be a function`);
    this.rule = new Rule(rule);
    this.options = options;
    this.handler = handler;
    this.name = options.name ?? (handler.name && handler.name !== 'anonymous' ? handler.name : rule);
    // Every field assigned on every path: one hidden class for all routes.
    this.methods = options.methods ? new Set(options.methods.map((m) => m.toUpperCase())) : undefined;
    if (this.methods?.has('GET')) this.methods.add('HEAD');
    this.contentTypes = options.contentTypes?.map((t) => t.toLowerCase());
    this.plain = this.contentTypes === undefined && options.accessControlAllowOrigin === undefined;
    this.params = compileParams(
      options.params,
      options.defaults,
      this.rule.params.map((p) => p.name),
    );
  }

  allows(method: string): boolean {
    return this.methods === undefined || this.methods.has(method);
  }

  /** Builds the path (without the mount point): positional args fill the rule's parameters then the declared ones; the rest go to the query string. */
  build(positional: unknown[], named: Record<string, unknown>): string {
    const values: Record<string, unknown> = {};
    const order = [...this.rule.params.map((p) => p.name)];
    if (this.options.params)
      for (const p of this.options.params) if (!p.startsWith('...')) order.push(p.endsWith('?') ? p.slice(0, -1) : p);
    for (const name of Object.keys(this.options.defaults ?? {})) if (!order.includes(name)) order.push(name);
    positional.forEach((v, i) => {
      const name = order[i];
      if (name === undefined) throw new TypeError(`too many arguments to build the URL of ${this.name}`);
      values[name] = v;
    });
    Object.assign(values, named);
    const path = this.rule.build(values);
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(values)) {
      if (this.rule.params.some((p) => p.name === k) || v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const x of v) query.append(k, String(x));
      else query.append(k, String(v));
    }
    const q = query.toString();
    return q ? `${path}?${q.replace(/\+/g, '%20')}` : path;
  }
}
