import fs from 'node:fs';
import path from 'node:path';

const MAX_DIRS = 1000;

/**
 * Watches a folder tree for changed code (.js, .mjs, .cjs, .ts, .json), one plain watch per
 * folder (node_modules and dot-folders skipped), and calls `onChange` once per burst of
 * changes (debounced). Returns the function that stops watching.
 */
export function watchTree(root: string, onChange: (file: string) => void, debounceMs = 300): () => void {
  const watchers: fs.FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const dirs = [root];
  for (let i = 0; i < dirs.length && i < MAX_DIRS; i++) {
    const dir = dirs[i]!;
    try {
      const w = fs.watch(dir, (_event, file) => {
        const name = String(file ?? '');
        if (!/\.(m?js|cjs|json|ts)$/.test(name)) return;
        last = path.join(dir, name);
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = undefined;
          onChange(last);
        }, debounceMs);
      });
      w.on('error', () => undefined);
      w.unref();
      watchers.push(w);
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.')) dirs.push(path.join(dir, e.name));
      }
    } catch {
      /* unreadable: not watched */
    }
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
