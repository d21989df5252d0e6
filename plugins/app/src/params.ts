// Parameters: query strings and form bodies parsed into one null-prototype object where a
// repeated name becomes an array, and the check of a route's declared parameters.
import { HttpError } from './http-error.js';

export type Args = Record<string, any>;

// A constructor whose prototype has no prototype: its objects start in V8's fast mode (cheaper
// than Object.create(null), which makes a dictionary) and still inherit nothing, so a
// parameter named "constructor" or "__proto__" is just a parameter.
const ArgsObject = function ArgsObject() {} as unknown as { new (): Args };
ArgsObject.prototype = Object.create(null);

export function createArgs(): Args {
  return new ArgsObject();
}

/** Adds a value; a second value for the same name turns the entry into an array. */
export function addArg(args: Args, name: string, value: unknown): void {
  if (!(name in args)) {
    args[name] = value;
    return;
  }
  const prev = args[name];
  if (Array.isArray(prev) && (prev as any)[kMulti]) prev.push(value);
  else {
    const list: unknown[] = [prev, value];
    Object.defineProperty(list, kMulti, { value: true });
    args[name] = list;
  }
}
// Marks arrays made by addArg, so that a JSON array value is not mistaken for repeats.
const kMulti = Symbol('skitai.multi');

function decode(text: string, strict: boolean): string {
  const s = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch (err) {
    if (strict)
      throw new HttpError(400, `malformed form body: bad percent-encoding in ${JSON.stringify(text.slice(0, 40))}`, {
        cause: err,
      });
    return s;
  }
}

/** application/x-www-form-urlencoded and query strings. Strict mode (bodies) refuses bad escapes. */
export function parseUrlEncoded(text: string, into: Args, strict: boolean): Args {
  if (text === '') return into;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const pair = text.slice(start, end);
      const eq = pair.indexOf('=');
      const name = decode(eq === -1 ? pair : pair.slice(0, eq), strict);
      const value = eq === -1 ? '' : decode(pair.slice(eq + 1), strict);
      if (name !== '') addArg(into, name, value);
    }
    start = end + 1;
  }
  return into;
}

/**
 * What a route says about its handler's parameters (Skitai's `def hello (was, id, topic)`):
 * names it takes, `name?` for an optional one, `...` (or `...rest`) to accept any others.
 */
export interface ParamSpec {
  required: string[];
  known: Set<string>;
  rest: boolean;
  defaults: Record<string, unknown> | undefined;
}

export function compileParams(
  params: readonly string[] | undefined,
  defaults: Record<string, unknown> | undefined,
  ruleParams: readonly string[],
): ParamSpec | undefined {
  if (!params && !defaults) return undefined;
  const spec: ParamSpec = { required: [], known: new Set(ruleParams), rest: false, defaults };
  for (const p of params ?? []) {
    if (p.startsWith('...')) {
      spec.rest = true;
      continue;
    }
    const optional = p.endsWith('?');
    const name = optional ? p.slice(0, -1) : p;
    spec.known.add(name);
    if (!optional && !(defaults && name in defaults) && !ruleParams.includes(name)) spec.required.push(name);
  }
  for (const name of Object.keys(defaults ?? {})) spec.known.add(name);
  return spec;
}

/** Throws a 400 naming the first unexpected or missing parameter; fills defaults. */
export function checkParams(spec: ParamSpec, args: Args): void {
  if (!spec.rest) {
    for (const name in args) {
      if (!spec.known.has(name)) throw new HttpError(400, `unexpected parameter: ${name}`);
    }
  }
  for (const name of spec.required) {
    if (!(name in args)) throw new HttpError(400, `missing parameter: ${name}`);
  }
  if (spec.defaults) {
    for (const name in spec.defaults) if (!(name in args)) args[name] = spec.defaults[name];
  }
}
