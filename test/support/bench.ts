// Helpers for the tests of the bench suite (bench/lib/*.mjs: plain modules outside the workspaces).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repo } from './net.js';

/** A module of bench/lib, imported by its path. */
export async function benchLib(file: string): Promise<any> {
  return import(pathToFileURL(path.join(repo, 'bench/lib', file)).href);
}

/**
 * A test's skip reason when `cmd --version` does not run (the tool is not installed), else
 * false. `pkg` is the Debian package .ci/run installs it from.
 */
export function missingTool(cmd: string, pkg: string, what: string): string | false {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0
    ? `${cmd} is not installed (apt-get install -y ${pkg}; .ci/run installs it): ${what} is skipped`
    : false;
}
