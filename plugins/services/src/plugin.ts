// The plugin: `kernel.use(services(options))`. Registers the http, https, ws and wss alias
// types with the kernel, adds the `was` callers, builds every alias whose type is served
// through this package (its own and those of plugins such as @skitai/db) at startup, binds
// the imported `was` to each request of the mounts, and closes the pools at shutdown.
import {
  checkOptionKeys,
  definePlugin,
  type Kernel,
  type MountEntry,
  type Plugin,
  type RequestHandler,
} from '@skitai/kernel';
import { BUILTIN_TYPES, isAliasTypeDefinition, type AliasTypeDefinition } from './alias.js';
import { wrapWithWasContext } from './context.js';
import { codes } from './errors.js';
import { BackendServices } from './manager.js';
import { attachServices, defineWasMembers, WAS_MEMBERS } from './was-members.js';
import { statusSection } from './status-section.js';

export const NAME = '@skitai/services';
export const VERSION = '0.1.0';

export interface ServicesOptions {
  /**
   * Bind the imported `was` (`import { was } from '@skitai/services'`) to each request of the
   * kernel's mounts, for plain Node handlers (Express ...). Default true. False saves the
   * AsyncLocalStorage cost when only App handlers use `was` (they get it as an argument).
   */
  wasContext?: boolean;
  /** A call's timeout, seconds (default 10). */
  timeout?: number;
  /** A connection's timeout, seconds (default 3): past it `.lb` tries another member. */
  connectTimeout?: number;
  /** Most response bytes buffered, unless a call asks for a stream (default 64 MiB). */
  maxResponseSize?: number;
}

const OPTION_KEYS: Record<keyof ServicesOptions, true> = {
  wasContext: true,
  timeout: true,
  connectTimeout: true,
  maxResponseSize: true,
};

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw codes.SKT_INVALID_OPTION(`services ${name}`, value, 'a number over 0');
  return value;
}

/**
 * A plugin serves an alias type through this package: its definition says how members are
 * parsed and pooled; `.lb`, `.map`, fail-over and set-aside come from here. Call it from the
 * plugin's apply().
 */
export function registerAliasType(kernel: Kernel, type: string, owner: string, definition: AliasTypeDefinition): void {
  if (!isAliasTypeDefinition(definition))
    throw codes.SKT_INVALID_OPTION(`alias type ${type}`, definition, 'an object with a protocol');
  kernel.aliases.registerType(type, owner, definition);
}

function apply(kernel: Kernel, options: ServicesOptions): void {
  checkOptionKeys(NAME, options, Object.keys(OPTION_KEYS));
  const services = new BackendServices(kernel);
  if (options.timeout !== undefined) services.defaults.timeout = positive('timeout', options.timeout) * 1000;
  if (options.connectTimeout !== undefined)
    services.defaults.connectTimeout = positive('connectTimeout', options.connectTimeout) * 1000;
  if (options.maxResponseSize !== undefined)
    services.defaults.maxResponseSize = positive('maxResponseSize', options.maxResponseSize);
  attachServices(kernel, services);
  for (const [type, definition] of BUILTIN_TYPES) registerAliasType(kernel, type, NAME, definition);
  defineWasMembers(kernel, NAME);

  kernel.hooks.startup.tapPromise(NAME, async () => {
    // Every plugin has registered its types by now: build the aliases this package serves.
    for (const declaration of kernel.aliases.list()) {
      const definition = kernel.aliases.getType(declaration.type)?.definition;
      if (!isAliasTypeDefinition(definition) || services.aliases.has(declaration.name)) continue;
      services.types.set(declaration.type, definition);
      services.alias(declaration.name, declaration.type, declaration.members, declaration.options);
    }
  });
  if (options.wasContext !== false) {
    kernel.hooks.wrapHandler.tap(NAME, (handler: RequestHandler, entry: MountEntry) =>
      entry.kind === 'static' ? handler : wrapWithWasContext(kernel, handler),
    );
  }
  // The master builds no pools: only serving processes report.
  kernel.hooks.status.tap(NAME, (sections) => {
    if (kernel.processRole !== 'master') sections.push(statusSection(services));
  });
  kernel.hooks.shutdown.tapPromise(NAME, () => services.close());
}

/** `kernel.use(services({ timeout, connectTimeout, maxResponseSize, wasContext }))`. */
export function services(options: ServicesOptions = {}): Plugin<ServicesOptions | undefined> {
  return definePlugin<ServicesOptions | undefined>({
    name: NAME,
    version: VERSION,
    kernel: '^0.1.0',
    was: WAS_MEMBERS,
    apply: (kernel, o) => apply(kernel, { ...options, ...(o ?? {}) }),
  });
}
