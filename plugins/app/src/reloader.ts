// useReloader: a watch on the app's folder marks the app stale; the next request re-imports
// the app module with a new query string. A module resolve hook (reload-hooks.ts) carries that
// query to the relative imports under the same folder, so changed helper modules load afresh too.
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';

const MAX_DIRS = 1000;

let hooksRegistered = false;
let generation = 0;

export class Reloader {
  private stale = false;
  private readonly watchers: fs.FSWatcher[] = [];

  constructor(readonly root: string) {
    if (!hooksRegistered) {
      hooksRegistered = true;
      register('./reload-hooks.js', import.meta.url);
    }
    // One plain watch per folder, skipping node_modules and dot-folders (a recursive watch
    // would walk them all); folders made later are not watched.
    const dirs = [root];
    for (let i = 0; i < dirs.length && i < MAX_DIRS; i++) {
      const dir = dirs[i]!;
      try {
        const w = fs.watch(dir, (_event, file) => {
          if (/\.(m?js|cjs|json|ts)$/.test(String(file ?? ''))) this.stale = true;
        });
        w.unref();
        w.on('error', () => undefined);
        this.watchers.push(w);
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          if (e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.'))
            dirs.push(path.join(dir, e.name));
        }
      } catch {
        // unreadable folder: not watched
      }
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
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }
}
