// The node options of the workers: the master's own (process.execArgv), then run({ execArgv }).
// RELAY_EXEC_ARGV is the set for a server that relays long bodies (a proxy, a download through
// was.get): it holds the process's RSS near its idle size. It is not the default because it
// costs every undici call about 3 % more instructions:
// - `--expose-gc`: lets such code ask for a young-generation collection every few MiB relayed
//   (the gateway does), because node gives every socket read a Buffer of its own and V8 would
//   otherwise collect them only past 32 MiB of them;
// - `--no-wasm-dynamic-tiering --no-wasm-tier-up`: undici's HTTP parser (WebAssembly) stays
//   on V8's baseline compiler; its optimizing compile happens in the middle of the first long
//   response and takes about 30 MiB for a moment.
import { codes } from '../errors.js';

/** The node options for workers that relay long bodies: `run({ execArgv: RELAY_EXEC_ARGV })`. */
export const RELAY_EXEC_ARGV: readonly string[] = Object.freeze([
  '--expose-gc',
  '--no-wasm-dynamic-tiering',
  '--no-wasm-tier-up',
]);

/** run({ execArgv }) checked: a list of node options (each starting with '-'). */
export function checkExecArgv(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((a) => typeof a === 'string' && a.startsWith('-'))) {
    throw codes.SKT_INVALID_OPTION('execArgv', value, "a list of node options, each starting with '-'");
  }
  return value as string[];
}

/** The execArgv of a worker. */
export function workerExecArgv(own: readonly string[], execArgv: readonly string[] | undefined): string[] {
  return execArgv ? [...own, ...execArgv] : [...own];
}
