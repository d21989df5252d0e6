import type { Kernel } from '../kernel.js';

/**
 * A kernel plugin, in the style of webpack's: a description and one entry, `apply`.
 * `apply` taps `kernel.hooks`, extends `was`, registers mounts; it may be async.
 */
export interface Plugin<Options = unknown> {
  /** The package name, e.g. '@skitai/websocket'. */
  readonly name: string;
  /** The plugin's own version (semver). */
  readonly version: string;
  /** The @skitai/kernel versions it supports, as a semver range, e.g. '^0.1.0'. */
  readonly kernel: string;
  /** Names of plugins that must be used too; they are applied first. */
  readonly dependencies?: readonly string[];
  /** The `was` members apply() adds (kernel.extendWas): claimed at use(), so a clash shows there. */
  readonly was?: readonly string[];
  apply(kernel: Kernel, options: Options): void | Promise<void>;
}

/** Identity with types: `export default definePlugin({ name, version, kernel, apply })`. */
export function definePlugin<Options = unknown>(plugin: Plugin<Options>): Plugin<Options> {
  return Object.freeze({ ...plugin });
}
