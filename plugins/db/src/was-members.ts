// `was.backend`, `was.postgresql`, `was.redis`, `was.sqlite3`, `was.mongodb`, each with `.lb`
// and `.map`. They hold nothing per request: one set of callers per kernel, handed to every `was`.
import type { Kernel } from '@skitai/kernel';
import { servicesOf, type BackendServices, type Results } from '@skitai/services';
import { DbClient, type DbOptions, type Mode } from './handle.js';
import { ENGINES } from './engines.js';
import { resolveTarget, type Target } from './targets.js';
import type { DbResult } from './result.js';

/** `was.backend('@db', options)`: one member picked by load (fail-over); `.map` calls every member. */
export interface DbCaller {
  (target: string, options?: DbOptions): DbClient<DbResult>;
  lb(target: string, options?: DbOptions): DbClient<DbResult>;
  map(target: string, options?: DbOptions): DbClient<Results>;
}

/** `was.mongodb('@docs', 'dbname', options)`. */
export interface MongoCaller {
  (target: string, database?: string, options?: DbOptions): DbClient<DbResult>;
  lb(target: string, database?: string, options?: DbOptions): DbClient<DbResult>;
  map(target: string, database?: string, options?: DbOptions): DbClient<Results>;
}

declare module '@skitai/kernel' {
  interface Was {
    /** Any alias of the db types: the alias says which (SQLite in development, PostgreSQL in production). */
    readonly backend: DbCaller;
    readonly postgresql: DbCaller;
    readonly redis: DbCaller;
    readonly sqlite3: DbCaller;
    readonly mongodb: MongoCaller;
  }
}

export const WAS_MEMBERS: readonly string[] = Object.freeze(['backend', 'postgresql', 'redis', 'sqlite3', 'mongodb']);

interface Callers {
  backend: DbCaller;
  postgresql: DbCaller;
  redis: DbCaller;
  sqlite3: DbCaller;
  mongodb: MongoCaller;
}

function open(services: BackendServices, target: string, type: string | undefined): Target | Error {
  try {
    return resolveTarget(services, ENGINES, target, type);
  } catch (err) {
    return err as Error;
  }
}

const NO_OPTIONS: DbOptions = Object.freeze({});

function caller(services: BackendServices, type: string | undefined): DbCaller {
  const make = (mode: Mode) => {
    // A client holds nothing but its target, mode and options, and an alias, once declared, is
    // never replaced: the client of a target without options is made once, not per call.
    const plain = new Map<string, DbClient<any>>();
    return (target: string, options?: DbOptions) => {
      if (options !== undefined) return new DbClient<any>(services, open(services, target, type), mode, options);
      let client = plain.get(target);
      if (client === undefined) {
        const resolved = open(services, target, type);
        client = new DbClient<any>(services, resolved, mode, NO_OPTIONS);
        // A target that did not resolve (an alias not declared yet) is looked up again next time.
        if (!(resolved instanceof Error)) plain.set(target, client);
      }
      return client;
    };
  };
  const one = make('one');
  return Object.assign(one, { lb: one, map: make('map') });
}

function mongoCaller(services: BackendServices): MongoCaller {
  const make = (mode: Mode) => (target: string, database?: string, options?: DbOptions) =>
    new DbClient<any>(services, open(services, target, 'mongodb'), mode, options ?? NO_OPTIONS, database ?? '');
  return Object.assign(make('one'), { lb: make('one'), map: make('map') });
}

const byServices = new WeakMap<BackendServices, Callers>();

/** The callers over a services instance (a kernel's, or a stand-alone one for scripts). */
export function dbCallers(services: BackendServices): Callers {
  let callers = byServices.get(services);
  if (callers === undefined) {
    callers = {
      backend: caller(services, undefined),
      postgresql: caller(services, 'postgresql'),
      redis: caller(services, 'redis'),
      sqlite3: caller(services, 'sqlite3'),
      mongodb: mongoCaller(services),
    };
    byServices.set(services, callers);
  }
  return callers;
}

export function defineWasMembers(kernel: Kernel, owner: string): void {
  for (const name of WAS_MEMBERS) {
    // The callers depend on the kernel only: built once, not per request.
    kernel.extendWas(name, (w) => dbCallers(servicesOf(w.kernel))[name as keyof Callers], owner, { perKernel: true });
  }
}
