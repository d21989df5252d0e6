// What `was.backend('@alias')` and `was.postgresql('user:pw@host/db')` point at: an alias of
// one of this package's types, or a member given directly (one pool per distinct member
// string, kept until shutdown).
import { Alias, type BackendServices } from '@skitai/services';
import { codes } from './errors.js';
import type { Engine } from './engine.js';

export interface Target {
  alias: Alias;
  engine: Engine;
  /** '@alias', or '(postgresql)' for a direct member (its text may hold a password). */
  name: string;
  /** A direct member's driver import, until it settled. */
  loading: Promise<void> | undefined;
}

const direct = new WeakMap<BackendServices, Map<string, Target>>();
/** One Target per alias, built on first use (nothing is allocated per call). */
const byAlias = new WeakMap<Alias, Target>();

/** Resolves a target; throws on an unknown alias, a type that does not fit, or a bad member. */
export function resolveTarget(
  services: BackendServices,
  engines: ReadonlyMap<string, Engine>,
  target: unknown,
  wanted: string | undefined,
): Target {
  if (typeof target !== 'string' || target.trim() === '')
    throw codes.SKT_DB_TARGET(target, 'give an alias ("@mydb") or a member ("user:password@host:port/db")');
  if (target.charCodeAt(0) === 64 /* @ */) {
    const alias = services.getAlias(target);
    const engine = engines.get(alias.type);
    if (engine === undefined || (wanted !== undefined && alias.type !== wanted)) {
      throw codes.SKT_ALIAS_WRONG_TYPE(target, alias.type, wanted ?? [...engines.keys()].join(', '));
    }
    let found = byAlias.get(alias);
    if (found === undefined) byAlias.set(alias, (found = { alias, engine, name: target, loading: undefined }));
    return found;
  }
  if (wanted === undefined)
    throw codes.SKT_DB_TARGET(
      target,
      'was.backend() takes an alias, which says the type; for a member use was.postgresql(), was.redis(), was.sqlite3() or was.mongodb()',
    );
  let byText = direct.get(services);
  if (byText === undefined) direct.set(services, (byText = new Map()));
  const key = `${wanted} ${target}`;
  let found = byText.get(key);
  if (found === undefined) {
    const engine = engines.get(wanted)!;
    const name = `(${wanted})`;
    const alias = new Alias(name, wanted, engine.definition, [target]);
    const t: Target = { alias, engine, name, loading: undefined };
    t.loading = engine.load().then(
      () => {
        t.loading = undefined;
      },
      (err: unknown) => {
        throw codes.SKT_DB_DRIVER(name, wanted, engine.driver, (err as Error)?.message ?? String(err));
      },
    );
    // A failed import is reported by each call that uses the target; this only keeps it from being unhandled.
    t.loading.catch(() => undefined);
    found = t;
    byText.set(key, found);
  }
  return found;
}

/** Closes the pools of the direct members (the plugin's shutdown tap). */
export async function closeDirect(services: BackendServices): Promise<void> {
  const byText = direct.get(services);
  if (byText === undefined) return;
  direct.delete(services);
  await Promise.allSettled(
    [...byText.values()].flatMap((t) =>
      t.alias.members.map(async (member) => {
        if (member.pool === undefined) return;
        const pool = member.pool;
        member.pool = undefined;
        await t.engine.definition.closePool?.(pool, member);
      }),
    ),
  );
}
