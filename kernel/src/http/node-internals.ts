// The one place that reads a private field of node:http. The request log counts response
// body bytes as the socket's bytes written minus the head; node:http keeps the head it wrote
// as a string in `_header` and has no public way to its size. A test
// (kernel/test/http/node-internals.test.ts) fails when Node stops keeping it.

/** The size of the response head as written, or 0 (node:http2's compatibility response keeps a boolean there). */
export function headBytes(res: object): number {
  const head = (res as { _header?: unknown })._header;
  return typeof head === 'string' ? head.length : 0;
}
