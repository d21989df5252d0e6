// nunjucks, loaded on the first render of an app that renders (never on the request path otherwise).
import { createRequire } from 'node:module';
import type * as Nunjucks from 'nunjucks';

// Not named `require`: scripts/package-entry.mjs runs this module where that name is its own.
const requireCjs = createRequire(import.meta.url);
let nunjucks: typeof Nunjucks | undefined;

/** Skitai's jinja_overlay: other delimiters for pages that also use Vue or React. */
export interface TemplateOverlay {
  variableStart?: string;
  variableEnd?: string;
  blockStart?: string;
  blockEnd?: string;
  commentStart?: string;
  commentEnd?: string;
}

export interface TemplateSetup {
  folder: string;
  overlay: TemplateOverlay | undefined;
  autoescape: boolean;
  globals: Map<string, (was: any, ...args: any[]) => unknown>;
  filters: Map<string, (...args: any[]) => unknown>;
  noCache: boolean;
}

export function createEnvironment(setup: TemplateSetup): Nunjucks.Environment {
  nunjucks ??= requireCjs('nunjucks') as typeof Nunjucks;
  const loader = new nunjucks.FileSystemLoader(setup.folder, { noCache: setup.noCache });
  const env = new nunjucks.Environment(loader, {
    autoescape: setup.autoescape,
    tags: setup.overlay,
    throwOnUndefined: false,
  });
  for (const [name, fn] of setup.globals) {
    // nunjucks calls a global with the render context as `this`: pass its `was` first.
    env.addGlobal(name, function (this: { ctx?: { was?: unknown } }, ...args: unknown[]) {
      return fn(this?.ctx?.was, ...args);
    });
  }
  for (const [name, fn] of setup.filters) env.addFilter(name, fn);
  return env;
}
