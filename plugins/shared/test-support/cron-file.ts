// The file cron-job.ts appends to, read back: "<due time ms> <instance>" a line, one line a run.
import fs from 'node:fs';

/** The runs so far, in the order written: [due time ms, instance]. */
export function cronRuns(file: string): Array<[number, string]> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [t, who] = l.split(' ');
      return [Number(t), who!];
    });
}

/** The instances that ran each due time. */
export function runsByTick(file: string): Map<number, string[]> {
  const byTick = new Map<number, string[]>();
  for (const [t, who] of cronRuns(file)) byTick.set(t, [...(byTick.get(t) ?? []), who]);
  return byTick;
}
