// Memory of a long body in transit. node gives every socket read a Buffer of its own (the
// server's parser copies each body chunk out, a client socket reads into fresh blocks), and V8
// frees those Buffers only at a scavenge, which their bytes start only past 32 MiB (twice
// V8's default largest semi-space, a constant no flag moves). A proxy allocates almost nothing
// else per chunk, so 32 MiB of dead Buffers (and the allocator's slack around them) would sit
// in its RSS at any moment of a long transfer. When the process has `gc` (workers started
// with `run({ execArgv: RELAY_EXEC_ARGV })`, or `node --expose-gc`), a young-generation collection
// is asked for after every YOUNG_GC_BYTES relayed, whatever the direction, at most one
// pending at a time. It costs less CPU than it saves: 256 MiB through a proxy took 1.0-1.45 s
// of its CPU with them, 1.3-1.7 s without (fresh memory, page faults, a cold cache). Without
// `gc`, `relayed` is undefined and costs nothing.

type Gc = (options: { type: 'minor'; execution: 'async' }) => Promise<void>;

/** Bytes relayed between two young-generation collections. */
export const YOUNG_GC_BYTES = 4 * 1024 * 1024;

const gc = (globalThis as { gc?: Gc }).gc;
let sinceLast = 0;
let pending = false;

function collected(): void {
  pending = false;
}

function ask(n: number): void {
  sinceLast += n;
  if (sinceLast < YOUNG_GC_BYTES || pending) return;
  sinceLast = 0;
  pending = true;
  gc!({ type: 'minor', execution: 'async' }).then(collected, collected);
}

/** Counts bytes relayed; undefined when the process has no `gc`. */
export const relayed: ((n: number) => void) | undefined = typeof gc === 'function' ? ask : undefined;
