// HTTP/2 frames on the wire for raw tests (RFC 9113 section 4): build any frame, even a
// malformed one, and read frames back. Header blocks are literal fields (no Huffman, no index).
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
export const E = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer | number[] = Buffer.alloc(0),
): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = Buffer.alloc(9);
  head.writeUIntBE(p.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([head, p]);
}

export function settings(values: Array<[number, number]> = [], ack = false): Buffer {
  const p = Buffer.alloc(values.length * 6);
  values.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v >>> 0, i * 6 + 2);
  });
  return frame(T.SETTINGS, ack ? F.ACK : 0, 0, p);
}

function literal(s: string): number[] {
  const b = Buffer.from(s, 'latin1');
  if (b.length >= 127) return [127, ...varint(b.length - 127), ...b];
  return [b.length, ...b];
}
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

export function headerBlock(fields: Array<[string, string]>): Buffer {
  const out: number[] = [];
  for (const [n, v] of fields) out.push(0x00, ...literal(n), ...literal(v));
  return Buffer.from(out);
}

export function request(
  stream: number,
  path = '/',
  method = 'GET',
  endStream = true,
  extra: Array<[string, string]> = [],
): Buffer {
  return frame(
    T.HEADERS,
    F.END_HEADERS | (endStream ? F.END_STREAM : 0),
    stream,
    headerBlock([[':method', method], [':scheme', 'http'], [':authority', 'localhost'], [':path', path], ...extra]),
  );
}

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** Frames in `bytes` (the server's preface first); a trailing partial frame is left out. */
export function parseFrames(bytes: Buffer): Frame[] {
  const out: Frame[] = [];
  let at = 0;
  while (at + 9 <= bytes.length) {
    const len = bytes.readUIntBE(at, 3);
    if (at + 9 + len > bytes.length) break;
    out.push({
      type: bytes[at + 3]!,
      flags: bytes[at + 4]!,
      stream: bytes.readUInt32BE(at + 5) & 0x7fffffff,
      payload: bytes.subarray(at + 9, at + 9 + len),
    });
    at += 9 + len;
  }
  return out;
}

/** The error code of the first GOAWAY, or undefined. */
export function goaway(frames: Frame[]): number | undefined {
  const g = frames.find((f) => f.type === T.GOAWAY);
  return g ? g.payload.readUInt32BE(4) : undefined;
}

export function rstCode(frames: Frame[], stream: number): number | undefined {
  const r = frames.find((f) => f.type === T.RST_STREAM && f.stream === stream);
  return r ? r.payload.readUInt32BE(0) : undefined;
}
