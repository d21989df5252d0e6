// Option objects are checked by their keys: a misspelt key would otherwise pass silently for
// a default. One helper for the kernel and for plugins (exported), with the nearest valid key.
import { codes } from './errors.js';

/** Levenshtein distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate nearest to `word` (case ignored), or undefined when none is close enough to
 * be a likely typo: at most a third of the word's length in edits (at least 2).
 */
export function nearestName(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/**
 * Refuses an options object with a key not in `known`: `SKT_INVALID_OPTION` names the key
 * and the nearest valid one ("did you mean maxClientBodySize?"). `where` names the call,
 * e.g. `'new Kernel()'` or `'@acme/hello'`. undefined passes; anything but a plain object fails.
 */
export function checkOptionKeys(where: string, options: unknown, known: Iterable<string>): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw codes.SKT_INVALID_OPTION(`${where} options`, options, 'an object');
  }
  const names = [...known];
  const valid = new Set(names);
  for (const key of Object.keys(options)) {
    if (valid.has(key)) continue;
    const near = nearestName(key, names);
    throw codes.SKT_INVALID_OPTION(
      `${where} option ${key}`,
      (options as Record<string, unknown>)[key],
      near === undefined ? `one of ${names.join(', ')}` : `a known option: did you mean ${near}?`,
    );
  }
}
