import type satisfiesType from 'semver/functions/satisfies.js';
import type validRangeType from 'semver/ranges/valid.js';
import { codes } from '../errors.js';
import type { Kernel } from '../kernel.js';
import type { Plugin } from './contract.js';
import process from 'node:process';

// semver (19 of its modules for these two functions, a third of the kernel's import time) is
// loaded when a plugin's kernel range is first checked: a kernel without plugins never needs it.
let semver: { satisfies: typeof satisfiesType; validRange: typeof validRangeType } | undefined;
function loadSemver(): NonNullable<typeof semver> {
  const load = process.getBuiltinModule('node:module').createRequire(import.meta.url);
  return (semver ??= {
    satisfies: load('semver/functions/satisfies.js') as typeof satisfiesType,
    validRange: load('semver/ranges/valid.js') as typeof validRangeType,
  });
}

interface Use {
  plugin: Plugin<any>;
  options: unknown;
  /** Where kernel.use() was called, to name both sides of a duplicate. */
  site: string;
}

function callSite(): string {
  const lines = (new Error().stack ?? '').split('\n').slice(1);
  // The first frame outside the kernel's own files is the user's kernel.use() call.
  const frame = lines.find((line) => !line.includes('/kernel/dist/src/') && !line.includes('node:internal'));
  return frame ? frame.trim().replace(/^at\s+/, '') : 'unknown place';
}

function describe(use: Use): string {
  return `${use.plugin.name}@${use.plugin.version} (used at ${use.site})`;
}

/** The plugins of one kernel: validation at start, then `apply` with dependencies first. */
export class PluginRegistry {
  private readonly uses: Use[] = [];

  add(plugin: Plugin<any>, options: unknown): void {
    if (!plugin || typeof plugin !== 'object' || typeof plugin.apply !== 'function') {
      throw codes.SKT_PLUGIN_INVALID('kernel.use() takes an object with name, version, kernel and apply()');
    }
    for (const field of ['name', 'version', 'kernel'] as const) {
      if (typeof plugin[field] !== 'string' || plugin[field] === '') {
        throw codes.SKT_PLUGIN_INVALID(`${plugin.name ?? 'a plugin'} has no ${field}`);
      }
    }
    this.uses.push({ plugin, options, site: callSite() });
  }

  has(name: string): boolean {
    return this.uses.some((use) => use.plugin.name === name);
  }

  list(): Plugin<any>[] {
    return this.uses.map((use) => use.plugin);
  }

  /** Checks duplicates, kernel ranges and dependencies; returns the order to apply in. */
  validate(kernelVersion: string): Use[] {
    const byName = new Map<string, Use>();
    for (const use of this.uses) {
      const first = byName.get(use.plugin.name);
      if (first) throw codes.SKT_PLUGIN_DUPLICATE(use.plugin.name, describe(first), describe(use));
      byName.set(use.plugin.name, use);
      const { satisfies, validRange } = loadSemver();
      const range = validRange(use.plugin.kernel);
      if (!range || !satisfies(kernelVersion, range, { includePrerelease: true })) {
        throw codes.SKT_PLUGIN_KERNEL_RANGE(
          `${use.plugin.name}@${use.plugin.version}`,
          use.plugin.kernel,
          kernelVersion,
        );
      }
    }
    for (const use of this.uses) {
      for (const dependency of use.plugin.dependencies ?? []) {
        if (!byName.has(dependency))
          throw codes.SKT_PLUGIN_MISSING_DEPENDENCY(`${use.plugin.name}@${use.plugin.version}`, dependency);
      }
    }
    // Dependencies first, otherwise the order of use (a depth-first topological sort).
    const ordered: Use[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (use: Use, chain: string[]): void => {
      const name = use.plugin.name;
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') throw codes.SKT_PLUGIN_DEPENDENCY_CYCLE([...chain, name].join(' -> '));
      state.set(name, 'visiting');
      for (const dependency of use.plugin.dependencies ?? []) visit(byName.get(dependency)!, [...chain, name]);
      state.set(name, 'done');
      ordered.push(use);
    };
    for (const use of this.uses) visit(use, []);
    return ordered;
  }

  async applyAll(kernel: Kernel, kernelVersion: string): Promise<void> {
    for (const use of this.validate(kernelVersion)) await use.plugin.apply(kernel, use.options);
  }
}
