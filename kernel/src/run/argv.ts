import { splitVerbs, type Verb } from './verbs.js';
import process from 'node:process';

/** What run() reads from the command line (Skitai's options, plus --workers for later). */
export interface CommandLine {
  verbose: boolean;
  port: number | undefined;
  workers: number | undefined;
  /** A daemon verb: start, stop, restart, status (the process model acts on these). */
  verb: Verb | undefined;
  /** Arguments run() does not know, as given: the script's own. */
  rest: string[];
}

const OPTIONS = {
  verbose: { type: 'boolean', short: 'v' },
  port: { type: 'string', short: 'p' },
  workers: { type: 'string', short: 'w' },
} as const;

function intValue(name: string, text: string | boolean | undefined): number {
  const n = Number(text);
  if (typeof text !== 'string' || text === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`${name} needs a whole number, got ${JSON.stringify(typeof text === 'string' ? text : '')}`);
  }
  return n;
}

/**
 * Skitai's command line, read with node's util.parseArgs. Not strict: the startup script may
 * have options of its own, which are kept in `rest` as given.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { verbs, rest: args } = splitVerbs(argv, OPTIONS);
  const { parseArgs } = process.getBuiltinModule('node:util');
  const { values, tokens } = parseArgs({ args, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const rest: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') rest.push(token.value);
    else if (token.kind === 'option-terminator') rest.push('--');
    else if (!Object.hasOwn(OPTIONS, token.name)) rest.push(args[token.index]!);
  }
  return {
    verbose: values.verbose === true,
    port: values.port === undefined ? undefined : intValue('--port', values.port),
    workers: values.workers === undefined ? undefined : intValue('--workers', values.workers),
    verb: verbs.at(-1),
    rest,
  };
}
