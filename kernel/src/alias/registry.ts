// The kernel's alias registry: names, their types and member strings, per kernel. The kernel
// does not connect to anything: a plugin registers each type it serves (the services plugin
// http and https, the db plugin postgresql, redis, sqlite3, mongodb) with a definition only it
// reads, and builds the pools. An alias whose type no plugin in use registered fails at start.
import { codes } from '../errors.js';

/** Options every alias may carry; plugins read the ones they enforce. */
export interface AliasOptions {
  /** Roles allowed through the gateway (enforced by @skitai/gateway). */
  role?: string | readonly string[];
  /** Source addresses allowed, comma separated IPv4 networks: '10.0.0.0/8,192.168.1/24'. */
  source?: string | readonly string[];
  /** TLS for the members (https and wss default to true). */
  ssl?: boolean;
  /** TLS client options for the members (ca, rejectUnauthorized, servername ...). */
  tls?: Record<string, unknown>;
  /** How long a failing member is set aside, in seconds: `first` after one failure, doubling up to `max`. Default 5 and 300. */
  setAside?: { first?: number; max?: number };
  /** Most connections per member (default: no limit). */
  maxConnections?: number;
  /** Options of the plugin that serves the type (pool sizes, timeouts ...). */
  [option: string]: unknown;
}

/** One `kernel.alias(...)` call, as given. */
export interface AliasDeclaration {
  readonly name: string;
  readonly type: string;
  readonly members: readonly string[];
  readonly options: Readonly<AliasOptions>;
}

/** A type a plugin serves; `definition` is the plugin's own (pool factory, member parser ...). */
export interface AliasType<D = unknown> {
  readonly type: string;
  /** The plugin that registered it. */
  readonly owner: string;
  readonly definition: D;
}

// Which package serves which well-known type: for the message of an alias nobody serves.
const PROVIDERS: Record<string, string> = {
  http: '@skitai/services',
  https: '@skitai/services',
  ws: '@skitai/services',
  wss: '@skitai/services',
  postgresql: '@skitai/db',
  redis: '@skitai/db',
  sqlite3: '@skitai/db',
  mongodb: '@skitai/db',
};

const aliasName = /^@[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const typeName = /^[a-z][a-z0-9_+-]*$/;

/** `@name`: letters, digits, "_", "-", "." */
export function checkAliasName(name: unknown): string {
  if (typeof name !== 'string' || !aliasName.test(name)) throw codes.SKT_ALIAS_NAME(name);
  return name;
}

export class AliasRegistry {
  private readonly declared = new Map<string, AliasDeclaration>();
  private readonly types = new Map<string, AliasType>();

  /** Records an alias; its members are parsed by the plugin serving its type, at start. */
  declare(
    name: string,
    type: string,
    members: string | readonly string[],
    options: AliasOptions = {},
  ): AliasDeclaration {
    checkAliasName(name);
    if (this.declared.has(name)) throw codes.SKT_ALIAS_DUPLICATE(name);
    if (typeof type !== 'string' || !typeName.test(type))
      throw codes.SKT_INVALID_OPTION(`alias ${name} type`, type, 'a type name such as http, postgresql');
    const list = typeof members === 'string' ? [members] : members;
    if (!Array.isArray(list) || list.length === 0 || list.some((m) => typeof m !== 'string'))
      throw codes.SKT_ALIAS_MEMBERS(name, members);
    if (options === null || typeof options !== 'object')
      throw codes.SKT_INVALID_OPTION(`alias ${name} options`, options, 'an object');
    const declaration = Object.freeze({
      name,
      type,
      members: Object.freeze([...list]),
      options: Object.freeze({ ...options }),
    });
    this.declared.set(name, declaration);
    return declaration;
  }

  get(name: string): AliasDeclaration | undefined {
    return this.declared.get(name);
  }

  /** Every alias, in declaration order. */
  list(): AliasDeclaration[] {
    return [...this.declared.values()];
  }

  /** A plugin serves this type. Registering it again from the same owner replaces the definition. */
  registerType<D>(type: string, owner: string, definition: D): void {
    if (typeof type !== 'string' || !typeName.test(type))
      throw codes.SKT_INVALID_OPTION('alias type name', type, 'lowercase letters and digits');
    const first = this.types.get(type);
    if (first && first.owner !== owner) throw codes.SKT_ALIAS_TYPE_DUPLICATE(type, first.owner, owner);
    this.types.set(type, Object.freeze({ type, owner, definition }));
  }

  getType<D = unknown>(type: string): AliasType<D> | undefined {
    return this.types.get(type) as AliasType<D> | undefined;
  }

  /** The aliases of the types one owner serves. */
  servedBy(owner: string): AliasDeclaration[] {
    return this.list().filter((a) => this.types.get(a.type)?.owner === owner);
  }

  /** At start, once every plugin registered its types: each alias must have one. */
  check(): void {
    for (const alias of this.declared.values()) {
      if (this.types.has(alias.type)) continue;
      const provider = PROVIDERS[alias.type];
      const known = [...this.types.keys()];
      const hint = provider
        ? `use the ${provider} plugin (kernel.use(...) from ${provider})`
        : `use a plugin that registers it${known.length ? ` (types served now: ${known.join(', ')})` : ''}`;
      throw codes.SKT_ALIAS_TYPE(alias.name, alias.type, hint);
    }
  }
}
