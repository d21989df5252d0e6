// Skitai's command lines mix verbs with options: `start`, `stop`, `restart`, `status` and
// their short forms `-d`, `-s`, `-r`. node's util.parseArgs would take `-d` for a flag, so the
// verbs are taken out first; an option's value is never a verb (`--user start` keeps "start").
import type { ParseArgsConfig } from 'node:util';

export type Verb = 'start' | 'stop' | 'restart' | 'status';

export const VERBS: Readonly<Record<string, Verb>> = {
  start: 'start',
  '-d': 'start',
  stop: 'stop',
  '-s': 'stop',
  restart: 'restart',
  '-r': 'restart',
  status: 'status',
};

/** Splits the verbs (in the order given) from the arguments left for util.parseArgs. */
export function splitVerbs(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
): { verbs: Verb[]; rest: string[] } {
  const valued = new Set<string>();
  for (const [name, option] of Object.entries(options)) {
    if (option.type !== 'string') continue;
    valued.add(`--${name}`);
    if (option.short) valued.add(`-${option.short}`);
  }
  const verbs: Verb[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (valued.has(arg)) {
      rest.push(arg);
      if (i + 1 < argv.length) rest.push(argv[++i]!);
    } else if (Object.hasOwn(VERBS, arg)) {
      verbs.push(VERBS[arg]!);
    } else {
      rest.push(arg);
    }
  }
  return { verbs, rest };
}
