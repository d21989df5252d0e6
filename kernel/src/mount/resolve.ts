import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { codes } from '../errors.js';
import type { AsyncSeriesBailHook } from 'tapable';
import type { Mountable, MountEntry, RequestHandler } from './table.js';
import process from 'node:process';

type ResolveHook = AsyncSeriesBailHook<[MountEntry], RequestHandler | Mountable | void>;

export type ResolvedTarget =
  | { kind: 'static'; root: string }
  | { kind: 'handler'; handler: RequestHandler }
  | { kind: 'mountable'; mountable: Mountable };

function classify(value: unknown): ResolvedTarget | undefined {
  if (typeof value === 'function') return { kind: 'handler', handler: value as RequestHandler };
  if (value && typeof (value as Mountable).mountTo === 'function')
    return { kind: 'mountable', mountable: value as Mountable };
  return undefined;
}

/** Imports a module by path or package name, resolved from the startup script's folder. */
async function importTarget(spec: string, swd: string): Promise<Record<string, unknown>> {
  const isPath = spec.startsWith('.') || path.isAbsolute(spec);
  if (isPath) return import(pathToFileURL(path.resolve(swd, spec)).href);
  try {
    const file = process.getBuiltinModule('node:module').createRequire(path.join(swd, 'noop.js')).resolve(spec);
    return await import(pathToFileURL(file).href);
  } catch {
    // An ESM-only package has no "require" condition: let import() resolve it.
    return import(spec);
  }
}

/**
 * What a mount's target is, decided at start: a folder is served as static files; a string
 * that is not a folder is a module path or package name whose export (default, `app` or
 * `handler`) is an App or a handler (Skitai's "Export API From Your Module").
 */
export async function resolveMountTarget(
  entry: MountEntry,
  swd: string,
  byPlugin?: ResolveHook,
): Promise<ResolvedTarget> {
  const where = entry.point || '/';
  const target = entry.target;
  if (typeof target !== 'string') return classify(target)!;
  const served = byPlugin ? classify(await byPlugin.promise(entry)) : undefined;
  if (served) return served;
  if (target.startsWith('@')) {
    throw codes.SKT_MOUNT_TARGET(
      where,
      `${target} is a backend alias: a reverse proxy to it needs the gateway plugin (kernel.use(gateway()) from @skitai/gateway)`,
    );
  }
  const dir = path.resolve(swd, target);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    /* not a path: a package name */
  }
  if (stat?.isDirectory()) return { kind: 'static', root: fs.realpathSync(dir) };
  let mod: Record<string, unknown>;
  try {
    mod = await importTarget(target, swd);
  } catch (err) {
    throw codes.SKT_MOUNT_TARGET(
      where,
      `${JSON.stringify(target)} is neither a folder nor a module that can be imported (${(err as Error).message})`,
    );
  }
  for (const value of [mod.default, mod.app, mod.handler]) {
    const found = classify(value);
    if (found) return found;
  }
  throw codes.SKT_MOUNT_TARGET(
    where,
    `module ${JSON.stringify(target)} exports no App or (req, res) handler as default, app or handler`,
  );
}
