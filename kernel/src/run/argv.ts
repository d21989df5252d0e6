/** What run() reads from the command line (Skitai's options, plus --workers for later). */
export interface CommandLine {
  verbose: boolean;
  port: number | undefined;
  workers: number | undefined;
  /** A daemon verb: start, stop, restart, status (the process model acts on these). */
  verb: 'start' | 'stop' | 'restart' | 'status' | undefined;
  rest: string[];
}

const verbs: Record<string, CommandLine['verb']> = {
  start: 'start', '-d': 'start', stop: 'stop', '-s': 'stop', restart: 'restart', '-r': 'restart', status: 'status',
};

function intValue(name: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`${name} needs a whole number, got ${JSON.stringify(text ?? '')}`);
  }
  return n;
}

export function parseCommandLine(argv: string[]): CommandLine {
  const out: CommandLine = { verbose: false, port: undefined, workers: undefined, verb: undefined, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '-v' || flag === '--verbose') out.verbose = true;
    else if (flag === '--port' || flag === '-p') out.port = intValue('--port', inline ?? argv[++i]);
    else if (flag === '--workers' || flag === '-w') out.workers = intValue('--workers', inline ?? argv[++i]);
    else if (verbs[flag] !== undefined) out.verb = verbs[flag];
    else out.rest.push(arg);
  }
  return out;
}
