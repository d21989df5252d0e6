// Rule compiling, matching and URL building. Rules without parameters live in a Map (one
// lookup for the common case); rules with parameters are tried in registration order.
import { createArgs } from './params.js';

export type ParamType = 'string' | 'int' | 'float' | 'path';

interface RuleParam {
  name: string;
  type: ParamType;
}

const TYPES: Record<ParamType, ParamType> = { string: 'string', int: 'int', float: 'float', path: 'path' };

/** One compiled rule: a literal or a regular expression with typed parameters. */
export class Rule {
  readonly source: string;
  readonly params: RuleParam[] = [];
  readonly literal: boolean;
  readonly regexp: RegExp | undefined;
  private readonly bySegment: boolean;
  /**
   * For matching by segment: the character codes of the literal text before each parameter,
   * then of the tail, end to end, and where each text starts in them (one more entry than the
   * texts). The match compares the path against small integers (one charCodeAt per character
   * instead of two), and reads each list with one element kind.
   */
  private readonly codes: number[] = [];
  private readonly starts: number[] = [];
  /** Literal text and parameter slots, for building URLs. */
  private readonly parts: (string | RuleParam)[] = [];

  constructor(source: string) {
    if (typeof source !== 'string' || !source.startsWith('/'))
      throw new TypeError(`a route rule must start with "/": ${JSON.stringify(source)}`);
    this.source = source;
    const re = /<(?:(string|int|float|path):)?([A-Za-z_$][\w$]*)>/g;
    let last = 0;
    let pattern = '';
    for (let m = re.exec(source); m; m = re.exec(source)) {
      const text = source.slice(last, m.index);
      this.parts.push(text);
      pattern += escapeRegExp(text);
      // The type as the literal's own string (not the RegExp's cut): `p.type === 'int'` is then
      // a pointer comparison, not a call that compares characters.
      const param: RuleParam = { name: internalize(m[2]!), type: TYPES[(m[1] ?? 'string') as ParamType] };
      if (this.params.some((p) => p.name === param.name))
        throw new TypeError(`parameter <${param.name}> appears twice in ${source}`);
      this.params.push(param);
      this.parts.push(param);
      pattern +=
        param.type === 'int'
          ? '(-?\\d+)'
          : param.type === 'float'
            ? '(-?\\d+(?:\\.\\d+)?)'
            : param.type === 'path'
              ? '(.+)'
              : '([^/]+)';
      last = m.index + m[0].length;
    }
    const tail = source.slice(last);
    if (tail.includes('<') || tail.includes('>')) throw new TypeError(`malformed parameter in route rule ${source}`);
    this.parts.push(tail);
    pattern += escapeRegExp(tail);
    this.literal = this.params.length === 0;
    this.regexp = this.literal ? undefined : new RegExp(`^${pattern}$`);
    // Parameters that each fill a whole segment (the common rule) are matched by walking the
    // path: no RegExp run, no match array, ints read without parseInt (a runtime call). Other
    // shapes (a `path` parameter, text around a parameter in its segment) keep the RegExp.
    this.bySegment =
      !this.literal &&
      this.parts.every(
        (part, i, parts) =>
          typeof part === 'string' ||
          (part.type !== 'path' &&
            (parts[i - 1] as string).endsWith('/') &&
            ((parts[i + 1] as string) === '' || (parts[i + 1] as string).startsWith('/'))),
      );
    if (this.bySegment) {
      for (const part of this.parts) {
        if (typeof part !== 'string') continue;
        this.starts.push(this.codes.length);
        for (let i = 0; i < part.length; i++) this.codes.push(part.charCodeAt(i));
      }
      this.starts.push(this.codes.length);
    }
  }

  /** Matches a decoded path; returns the typed parameters or undefined. */
  match(path: string): Record<string, unknown> | undefined {
    if (this.literal) return path === this.source ? {} : undefined;
    if (this.bySegment) return this.matchSegments(path);
    const m = this.regexp!.exec(path);
    if (!m) return undefined;
    // An args object (see params.ts): the App hands it to the handler as it is.
    const out: Record<string, unknown> = createArgs();
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]!;
      const raw = m[i + 1]!;
      out[p.name] =
        p.type === 'int' ? Number.parseInt(raw, 10) : p.type === 'float' ? Number.parseFloat(raw) : decodeSegment(raw);
    }
    return out;
  }

  private matchSegments(path: string): Record<string, unknown> | undefined {
    const codes = this.codes;
    const starts = this.starts;
    const params = this.params;
    const n = path.length;
    const out: Record<string, unknown> = createArgs();
    let pos = 0;
    for (let i = 0; i < params.length; i++) {
      pos = skipText(path, pos, codes, starts[i]!, starts[i + 1]!);
      if (pos === -1) return undefined;
      // The segment's end: the next '/' or the end of the path (a character loop: segments
      // are short, and a call into indexOf costs more than it walks).
      let end = pos;
      while (end < n && path.charCodeAt(end) !== 47 /* / */) end++;
      if (end === pos) return undefined;
      const p = params[i]!;
      let value: unknown;
      if (p.type === 'int') {
        value = readInt(path, pos, end);
        if (value === undefined) return undefined;
      } else {
        const raw = path.slice(pos, end);
        if (p.type === 'string') value = decodeSegment(raw);
        else if (FLOAT.test(raw)) value = Number.parseFloat(raw);
        else return undefined;
      }
      out[p.name] = value;
      pos = end;
    }
    pos = skipText(path, pos, codes, starts[params.length]!, starts[params.length + 1]!);
    return pos === n ? out : undefined;
  }

  /** Builds the path: positional values fill the rule's parameters in order, then named ones. */
  build(values: Record<string, unknown>): string {
    let out = '';
    for (const part of this.parts) {
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const v = values[part.name];
      if (v === undefined || v === null) throw new TypeError(`missing <${part.name}> to build ${this.source}`);
      out +=
        part.type === 'path' ? String(v).split('/').map(encodeURIComponent).join('/') : encodeURIComponent(String(v));
    }
    return out;
  }
}

/** The params of every literal rule's match (shared: never written to). */
export const NO_PARAMS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

const FLOAT = /^-?\d+(?:\.\d+)?$/;

/**
 * The position after the text codes[from, to) when path has it at pos, else -1 (compared in a
 * loop: the texts are short).
 */
function skipText(path: string, pos: number, codes: number[], from: number, to: number): number {
  const end = pos + (to - from);
  if (end > path.length) return -1;
  for (let i = from, j = pos; i < to; i++, j++) if (path.charCodeAt(j) !== codes[i]) return -1;
  return end;
}

/** What `-?\d+` matches in path[start, end), as Number.parseInt reads it; undefined if not. */
function readInt(path: string, start: number, end: number): number | undefined {
  const negative = path.charCodeAt(start) === 45; /* - */
  let i = negative ? start + 1 : start;
  if (i === end) return undefined;
  // Past 15 digits a double loses digits: parseInt rounds those as it always did.
  if (end - i > 15)
    return /^-?\d+$/.test(path.slice(start, end)) ? Number.parseInt(path.slice(start, end), 10) : undefined;
  let n = 0;
  for (; i < end; i++) {
    const c = path.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return negative ? -n : n;
}

function decodeSegment(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The same text as the string V8 keeps for property names. A name cut out of the rule by a
 * RegExp is a string of its own: stored as a key (`args[name] = value`), it sends every
 * match's store through V8's megamorphic keyed-store path (a stub cache probe, ~160
 * instructions), where a property name's string lets the optimized code store in place.
 */
function internalize(name: string): string {
  return Object.keys({ [name]: 0 })[0]!;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What Router.find gives: the routes of one rule (several when they differ by method) and its params. */
export interface Match<T> {
  routes: T[];
  params: Record<string, unknown>;
}

/** A route table of any value type (the app stores its Route objects). */
export class Router<T extends { rule: Rule }> {
  private readonly literal = new Map<string, Match<T>>();
  /**
   * literalLengths[n] is 1 when a literal rule is n characters long: a path of no such length
   * skips the Map (hashing a path string that is new with every request, ~250 instructions
   * for a short one).
   */
  private literalLengths: number[] = [];
  /**
   * Rules with parameters in the order of their first route, each with every route of that
   * rule (they differ by method): a match stops at the first rule that matches and shares its
   * route list, so a lookup allocates the params and the Match only.
   */
  private readonly dynamic: { rule: Rule; routes: T[] }[] = [];
  readonly all: T[] = [];

  add(route: T): void {
    this.all.push(route);
    const source = route.rule.source;
    if (route.rule.literal) {
      // One result object per literal rule, reused: the common lookup allocates nothing.
      const found = this.literal.get(source);
      if (found) found.routes.push(route);
      else {
        this.literal.set(source, { routes: [route], params: NO_PARAMS });
        this.countLengths();
      }
    } else {
      const group = this.dynamic.find((g) => g.rule.source === source);
      if (group) group.routes.push(route);
      else this.dynamic.push({ rule: route.rule, routes: [route] });
    }
  }

  remove(route: T): void {
    const drop = (list: T[]) => {
      const i = list.indexOf(route);
      if (i !== -1) list.splice(i, 1);
    };
    drop(this.all);
    const source = route.rule.source;
    const lit = this.literal.get(source);
    if (lit) {
      drop(lit.routes);
      if (lit.routes.length === 0) {
        this.literal.delete(source);
        this.countLengths();
      }
    }
    const g = this.dynamic.findIndex((x) => x.routes.includes(route));
    if (g !== -1) {
      const group = this.dynamic[g]!;
      drop(group.routes);
      if (group.routes.length === 0) this.dynamic.splice(g, 1);
      // The rule matches as its first remaining route's (they share the source).
      else group.rule = group.routes[0]!.rule;
    }
  }

  private countLengths(): void {
    const lengths: number[] = [];
    let max = 0;
    for (const source of this.literal.keys()) max = Math.max(max, source.length);
    // A packed array of small integers (no holes): the lookup reads it without a bounds miss path.
    for (let i = 0; i <= max; i++) lengths.push(0);
    for (const source of this.literal.keys()) lengths[source.length] = 1;
    this.literalLengths = lengths;
  }

  /** Every route whose rule matches the path (several when they differ by method), with params. */
  find(path: string): Match<T> | undefined {
    const n = path.length;
    if (n < this.literalLengths.length && this.literalLengths[n] === 1) {
      const lit = this.literal.get(path);
      if (lit !== undefined) return lit;
    }
    const dynamic = this.dynamic;
    for (let i = 0; i < dynamic.length; i++) {
      const group = dynamic[i]!;
      const params = group.rule.match(path);
      if (params !== undefined) return { routes: group.routes, params };
    }
    return undefined;
  }
}
