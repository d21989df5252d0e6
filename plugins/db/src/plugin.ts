// The plugin: `kernel.use(db())`. Registers the postgresql, redis, sqlite3 and mongodb alias
// types with @skitai/services (which builds the aliases, balances over their members and closes
// their pools at shutdown), adds `was.backend` and the typed callers, and at start loads the
// driver of every type an alias uses, so a missing one stops the start, naming the alias.
import { definePlugin, type Kernel, type Plugin } from '@skitai/kernel';
import { registerAliasType, servicesOf } from '@skitai/services';
import { ENGINES } from './engines.js';
import { codes } from './errors.js';
import { closeDirect } from './targets.js';
import { defineWasMembers, WAS_MEMBERS } from './was-members.js';

export const NAME = '@skitai/db';
export const VERSION = '0.1.0';

function apply(kernel: Kernel): void {
  for (const [type, engine] of ENGINES) registerAliasType(kernel, type, NAME, engine.definition);
  defineWasMembers(kernel, NAME);

  kernel.hooks.startup.tapPromise(NAME, async () => {
    for (const declaration of kernel.aliases.list()) {
      const engine = ENGINES.get(declaration.type);
      if (engine === undefined) continue;
      const worker = declaration.options.worker;
      if (worker !== undefined && (declaration.type !== 'sqlite3' || typeof worker !== 'boolean')) {
        throw codes.SKT_ALIAS_OPTION(declaration.name, 'worker', worker, 'a sqlite3 alias option, true or false');
      }
      try {
        await engine.load();
      } catch (err) {
        throw codes.SKT_DB_DRIVER(
          declaration.name,
          declaration.type,
          engine.driver,
          (err as Error)?.message ?? String(err),
        );
      }
    }
  });
  // The aliases' pools are closed by @skitai/services; the members given directly are ours.
  kernel.hooks.shutdown.tapPromise(NAME, () => closeDirect(servicesOf(kernel)));
}

/** `kernel.use(db())`: needs `kernel.use(services())` from '@skitai/services'. */
export function db(): Plugin<undefined> {
  return definePlugin<undefined>({
    name: NAME,
    version: VERSION,
    kernel: '^0.1.0',
    dependencies: ['@skitai/services'],
    was: WAS_MEMBERS,
    apply: (kernel) => apply(kernel),
  });
}
