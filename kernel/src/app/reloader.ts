// useReloader: a watch on the app's folder marks the app stale; the next request re-imports
// the app module with a new query string. A module resolve hook (reload-hooks.ts) carries that
// query to the relative imports under the same folder, so changed helper modules load afresh too.
import fs from 'node:fs';
import { register } from 'node:module';

let hooksRegistered = false;
let generation = 0;

export class Reloader {
  private stale = false;
  private watcher: fs.FSWatcher | undefined;

  constructor(readonly root: string) {
    if (!hooksRegistered) {
      hooksRegistered = true;
      register('./reload-hooks.js', import.meta.url);
    }
    try {
      this.watcher = fs.watch(root, { recursive: true }, (_event, file) => {
        const name = String(file ?? '');
        if (name.includes('node_modules') || name.split(/[\\/]/).some((p) => p.startsWith('.'))) return;
        if (/\.(m?js|cjs|json|ts)$/.test(name)) this.stale = true;
      });
      this.watcher.unref();
    } catch {
      this.watcher = undefined;
    }
  }

  /** True once after a change: the caller reloads. */
  changed(): boolean {
    if (!this.stale) return false;
    this.stale = false;
    return true;
  }

  /** The query string for the next import (the hook reads both parameters). */
  nextGeneration(): string {
    generation++;
    return `skitai-reload=${generation}&skitai-root=${encodeURIComponent(this.root)}`;
  }

  close(): void {
    this.watcher?.close();
  }
}
