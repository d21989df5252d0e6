// Just enough HPACK (RFC 7541) and framing (RFC 9113) to hand node:http2 the request of an
// `Upgrade: h2c` as stream 1: literal fields without indexing never touch the dynamic table,
// so the client's own header blocks decode as it meant them.
import { Buffer } from 'node:buffer';

function integer(value: number, prefixBits: number, first: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  value -= max;
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
}

function literal(bytes: Buffer, out: number[]): void {
  integer(bytes.length, 7, 0x00, out); // H = 0: not Huffman-coded
  for (const b of bytes) out.push(b);
}

/** A header block of literal fields without indexing (new names). */
export function encodeHeaderBlock(fields: Array<[string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    out.push(0x00);
    literal(Buffer.from(name, 'latin1'), out);
    literal(Buffer.from(value, 'latin1'), out);
  }
  return Buffer.from(out);
}

const TYPE_DATA = 0x0;
const TYPE_HEADERS = 0x1;
const TYPE_CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HEADERS (+ CONTINUATION) and DATA frames of one request on `streamId`, within `maxFrame` bytes each. */
export function requestFrames(
  streamId: number,
  fields: Array<[string, string]>,
  body: Buffer,
  maxFrame = 16384,
): Buffer {
  const block = encodeHeaderBlock(fields);
  const frames: Buffer[] = [];
  const noBody = body.length === 0;
  for (let at = 0; at < block.length || at === 0; at += maxFrame) {
    const part = block.subarray(at, at + maxFrame);
    const last = at + maxFrame >= block.length;
    const type = at === 0 ? TYPE_HEADERS : TYPE_CONTINUATION;
    const flags = (last ? END_HEADERS : 0) | (at === 0 && noBody ? END_STREAM : 0);
    frames.push(frame(type, flags, streamId, part));
    if (last) break;
  }
  for (let at = 0; at < body.length; at += maxFrame) {
    const part = body.subarray(at, at + maxFrame);
    frames.push(frame(TYPE_DATA, at + maxFrame >= body.length ? END_STREAM : 0, streamId, part));
  }
  return Buffer.concat(frames);
}
