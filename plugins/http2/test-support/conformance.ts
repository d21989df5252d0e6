// An HTTP/2 conformance run in the manner of h2spec (which is not packaged for Debian or npm):
// each case sends frames on a fresh connection and judges the server's frames. A case whose
// bad frame a server might silently ignore ends with a PING: its ACK proves the server read
// past the frame without the error it owed. Run against the plugin and a bare node:http2.
import net from 'node:net';
import tls from 'node:tls';
import { E, F, PREFACE, T, frame, headerBlock, parseFrames, request, settings, type Frame } from './frames.js';

export interface Target {
  name: string;
  port: number;
  tls: boolean;
}

class Conn {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  get frames(): Frame[] {
    return parseFrames(this.buf);
  }
  get raw(): Buffer {
    return this.buf;
  }
  send(...bufs: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(bufs));
  }
  async until(test: (frames: Frame[]) => boolean): Promise<Frame[]> {
    for (;;) {
      const f = this.frames;
      if (test(f) || this.closed) return f;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  close(): void {
    this.socket.destroy();
  }
}

function open(target: Target, preface = true): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = target.tls
      ? tls.connect({ port: target.port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false })
      : net.connect(target.port, '127.0.0.1');
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      const c = new Conn(socket);
      if (preface) c.send(PREFACE, settings());
      resolve(c);
    });
    socket.once('error', reject);
  });
}

const PING_PAYLOAD = Buffer.from('skitai!!');
const ping = (payload = PING_PAYLOAD) => frame(T.PING, 0, 0, payload);
const isAck = (f: Frame) => f.type === T.PING && (f.flags & F.ACK) !== 0 && f.payload.equals(PING_PAYLOAD);
const goawayCode = (frames: Frame[]) => {
  const g = frames.find((f) => f.type === T.GOAWAY);
  return g ? g.payload.readUInt32BE(4) : undefined;
};

/** A connection error with one of `codes` (GOAWAY), or the connection closed. */
async function connError(c: Conn, codes: number[]): Promise<string | true> {
  c.send(ping());
  const frames = await c.until((f) => f.some((x) => x.type === T.GOAWAY) || f.some(isAck));
  const code = goawayCode(frames);
  if (code !== undefined) return codes.includes(code) ? true : `GOAWAY ${code}, expected ${codes.join(' or ')}`;
  // h2spec also takes a bare close; here it is a failure, so that a GOAWAY lost to a race
  // cannot make a case pass on one server and fail on the other.
  if (c.closed) return 'closed without GOAWAY';
  return 'ignored: the PING after it was answered, no GOAWAY';
}

/** A stream error (RST_STREAM) with one of `codes` on `stream`, or a connection error with them. */
async function streamError(c: Conn, stream: number, codes: number[]): Promise<string | true> {
  c.send(ping());
  const frames = await c.until(
    (f) => f.some((x) => (x.type === T.RST_STREAM && x.stream === stream) || x.type === T.GOAWAY) || f.some(isAck),
  );
  const rst = frames.find((x) => x.type === T.RST_STREAM && x.stream === stream);
  if (rst) {
    const code = rst.payload.readUInt32BE(0);
    return codes.includes(code) ? true : `RST_STREAM ${code}, expected ${codes.join(' or ')}`;
  }
  const code = goawayCode(frames);
  if (code !== undefined) return codes.includes(code) ? true : `GOAWAY ${code}, expected ${codes.join(' or ')}`;
  if (c.closed) return 'closed without RST_STREAM or GOAWAY';
  return 'ignored: the PING after it was answered';
}

/** The connection goes on: the PING is answered and no GOAWAY came. */
async function alive(c: Conn): Promise<string | true> {
  c.send(ping());
  const frames = await c.until((f) => f.some(isAck) || f.some((x) => x.type === T.GOAWAY));
  if (frames.some((x) => x.type === T.GOAWAY)) return `GOAWAY ${goawayCode(frames)}`;
  return frames.some(isAck) ? true : 'closed';
}

/** A response (HEADERS) on `stream`. */
async function answered(c: Conn, stream: number): Promise<string | true> {
  const frames = await c.until((f) =>
    f.some(
      (x) =>
        (x.type === T.HEADERS && x.stream === stream) ||
        x.type === T.GOAWAY ||
        (x.type === T.RST_STREAM && x.stream === stream),
    ),
  );
  return frames.some((x) => x.type === T.HEADERS && x.stream === stream) ? true : 'no response';
}

/**
 * A flood: the attacker sends `count` frames and reads nothing meanwhile. Passed when the
 * server is still answering a new connection afterwards, and the flooding connection was
 * either cut (GOAWAY, close) or is itself still answering (the frames were cheap to take).
 */
async function survivesFlood(target: Target, c: Conn, build: () => Buffer, count: number): Promise<string | true> {
  c.socket.pause();
  const chunk = Buffer.concat(Array.from({ length: 100 }, build));
  let written = 0;
  await new Promise<void>((resolve) => {
    const write = () => {
      while (written < count && !c.socket.destroyed) {
        written += 100;
        if (!c.socket.write(chunk)) {
          c.socket.once('drain', write);
          return;
        }
      }
      resolve();
    };
    c.socket.once('close', () => resolve());
    write();
  });
  c.socket.resume();
  c.send(ping());
  await c.until((f) => f.some((x) => x.type === T.GOAWAY) || f.some(isAck));
  const fresh = await open(target);
  fresh.send(request(1, '/'));
  const ok = await answered(fresh, 1);
  fresh.close();
  c.close();
  return ok === true ? true : 'a new connection was not answered after the flood';
}

/** What the flood connection got: for the report. */
export function floodOutcome(frames: Frame[]): string {
  const code = goawayCode(frames);
  return code !== undefined ? `GOAWAY ${code}` : frames.some(isAck) ? 'still answering' : 'closed';
}

export interface Case {
  id: string;
  title: string;
  run(c: Conn, target: Target): Promise<string | true>;
  preface?: boolean;
}

const hdr = (stream: number, fields: Array<[string, string]>, flags = F.END_HEADERS | F.END_STREAM) =>
  frame(T.HEADERS, flags, stream, headerBlock(fields));
const base: Array<[string, string]> = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':authority', 'localhost'],
  [':path', '/'],
];
/** HEADERS opening `stream` with a POST whose body has not come yet. */
const openPost = (stream: number) => hdr(stream, [[':method', 'POST'], ...base.slice(1)], F.END_HEADERS);

export const cases: Case[] = [
  {
    id: '3.4',
    title: 'a bad connection preface is a connection error',
    preface: false,
    async run(c) {
      c.send(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'), settings());
      await c.until(() => false);
      return true; // closed (GOAWAY, or a refusal before HTTP/2 began)
    },
  },
  {
    id: '3.4b',
    title: "the server's preface is a SETTINGS frame",
    async run(c) {
      const f = await c.until((x) => x.length > 0);
      return f[0]?.type === T.SETTINGS ? true : `first frame type ${f[0]?.type}`;
    },
  },
  {
    id: '4.1',
    title: 'a frame of unknown type is ignored',
    async run(c) {
      c.send(frame(0x20, 0, 0, Buffer.from('x')));
      return alive(c);
    },
  },
  {
    id: '4.1b',
    title: 'unknown flags are ignored',
    async run(c) {
      c.send(frame(T.PING, 0x16, 0, Buffer.alloc(8)));
      return alive(c);
    },
  },
  {
    id: '4.2',
    title: 'a DATA frame over SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR',
    async run(c) {
      c.send(openPost(1), frame(T.DATA, 0, 1, Buffer.alloc(16385)));
      return streamError(c, 1, [E.FRAME_SIZE_ERROR]);
    },
  },
  {
    id: '4.3',
    title: 'an undecodable header block: COMPRESSION_ERROR',
    async run(c) {
      c.send(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.from([0xff, 0xff, 0xff, 0xff])));
      return connError(c, [E.COMPRESSION_ERROR]);
    },
  },
  {
    id: '5.1',
    title: 'DATA on an idle stream: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.DATA, 0, 1, Buffer.from('x')));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '5.1b',
    title: 'HEADERS on a half-closed (remote) stream: STREAM_CLOSED',
    async run(c) {
      c.send(hdr(1, base), hdr(1, base));
      return streamError(c, 1, [E.STREAM_CLOSED]);
    },
  },
  {
    id: '5.1c',
    title: 'DATA on a closed stream: STREAM_CLOSED',
    async run(c) {
      c.send(hdr(1, base));
      await answered(c, 1);
      await c.until((f) => f.some((x) => x.stream === 1 && (x.flags & F.END_STREAM) !== 0));
      c.send(frame(T.DATA, 0, 1, Buffer.from('x')));
      return streamError(c, 1, [E.STREAM_CLOSED]);
    },
  },
  {
    id: '5.1.1',
    title: 'an even stream id from a client: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(2, base));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '5.1.1b',
    title: 'a stream id lower than one used: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(5, base), hdr(3, base));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '5.1.2',
    title: 'streams over SETTINGS_MAX_CONCURRENT_STREAMS are refused',
    async run(c) {
      const limit = await c.until((f) => f.some((x) => x.type === T.SETTINGS));
      const s = limit.find((x) => x.type === T.SETTINGS)!;
      let max = 2 ** 32 - 1;
      for (let i = 0; i + 6 <= s.payload.length; i += 6)
        if (s.payload.readUInt16BE(i) === 3) max = s.payload.readUInt32BE(i + 2);
      if (max > 1000) return `SETTINGS_MAX_CONCURRENT_STREAMS is ${max}: no limit a client can reach`;
      const open: Buffer[] = [];
      for (let i = 0; i <= max; i++) open.push(openPost(1 + 2 * i));
      c.send(...open);
      return streamError(c, 1 + 2 * max, [E.REFUSED_STREAM, E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '5.5',
    title: 'an unknown extension frame inside a header block: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.HEADERS, 0, 1, headerBlock(base)), frame(0x20, 0, 1, Buffer.from('x')));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.1',
    title: 'DATA on stream 0: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.DATA, 0, 0, Buffer.from('x')));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.1b',
    title: 'DATA on a stream not open (half-closed remote): STREAM_CLOSED',
    async run(c) {
      c.send(hdr(1, base), frame(T.DATA, 0, 1, Buffer.from('x')));
      return streamError(c, 1, [E.STREAM_CLOSED]);
    },
  },
  {
    id: '6.1c',
    title: 'DATA whose padding length is too large: PROTOCOL_ERROR',
    async run(c) {
      c.send(openPost(1), frame(T.DATA, F.PADDED, 1, Buffer.from([10, 1, 2])));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.2',
    title: 'HEADERS on stream 0: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(0, base));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.2b',
    title: 'HEADERS then a frame other than CONTINUATION: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.HEADERS, F.END_STREAM, 1, headerBlock(base)), frame(T.DATA, 0, 1, Buffer.from('x')));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.3',
    title: 'PRIORITY on stream 0: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.PRIORITY, 0, 0, Buffer.from([0, 0, 0, 1, 16])));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.3b',
    title: 'PRIORITY of 4 bytes: FRAME_SIZE_ERROR',
    async run(c) {
      c.send(frame(T.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 3])));
      return streamError(c, 1, [E.FRAME_SIZE_ERROR]);
    },
  },
  {
    id: '6.4',
    title: 'RST_STREAM on stream 0: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.RST_STREAM, 0, 0, Buffer.alloc(4)));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.4b',
    title: 'RST_STREAM on an idle stream: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.RST_STREAM, 0, 1, Buffer.alloc(4)));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.4c',
    title: 'RST_STREAM of 3 bytes: FRAME_SIZE_ERROR',
    async run(c) {
      c.send(openPost(1), frame(T.RST_STREAM, 0, 1, Buffer.alloc(3)));
      return connError(c, [E.FRAME_SIZE_ERROR]);
    },
  },
  {
    id: '6.5',
    title: 'SETTINGS is acknowledged',
    async run(c) {
      c.send(settings([[4, 100000]]));
      const f = await c.until((x) => x.some((y) => y.type === T.SETTINGS && (y.flags & F.ACK) !== 0));
      return f.some((y) => y.type === T.SETTINGS && (y.flags & F.ACK) !== 0) ? true : 'no ACK';
    },
  },
  {
    id: '6.5b',
    title: 'a SETTINGS ACK with a payload: FRAME_SIZE_ERROR',
    async run(c) {
      c.send(frame(T.SETTINGS, F.ACK, 0, Buffer.alloc(6)));
      return connError(c, [E.FRAME_SIZE_ERROR]);
    },
  },
  {
    id: '6.5c',
    title: 'SETTINGS on a stream: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.SETTINGS, 0, 1, Buffer.alloc(6)));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.5d',
    title: 'SETTINGS whose length is not a multiple of 6: FRAME_SIZE_ERROR',
    async run(c) {
      c.send(frame(T.SETTINGS, 0, 0, Buffer.alloc(3)));
      return connError(c, [E.FRAME_SIZE_ERROR]);
    },
  },
  {
    id: '6.5.2',
    title: 'SETTINGS_ENABLE_PUSH of 2: PROTOCOL_ERROR',
    async run(c) {
      c.send(settings([[2, 2]]));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.5.2b',
    title: 'SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1: FLOW_CONTROL_ERROR',
    async run(c) {
      c.send(settings([[4, 2 ** 31]]));
      return connError(c, [E.FLOW_CONTROL_ERROR]);
    },
  },
  {
    id: '6.5.2c',
    title: 'SETTINGS_MAX_FRAME_SIZE under 16384: PROTOCOL_ERROR',
    async run(c) {
      c.send(settings([[5, 16383]]));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.5.2d',
    title: 'an unknown setting is ignored',
    async run(c) {
      c.send(settings([[0xff, 1]]));
      return alive(c);
    },
  },
  {
    id: '6.7',
    title: 'PING is answered with the same payload',
    async run(c) {
      return alive(c);
    },
  },
  {
    id: '6.7b',
    title: 'a PING ACK is not answered',
    async run(c) {
      c.send(frame(T.PING, F.ACK, 0, Buffer.from('notmine!')));
      const r = await alive(c);
      return r === true && c.frames.some((f) => f.type === T.PING && f.payload.equals(Buffer.from('notmine!')))
        ? 'answered an ACK'
        : r;
    },
  },
  {
    id: '6.7c',
    title: 'PING on a stream: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.PING, 0, 1, Buffer.alloc(8)));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.7d',
    title: 'PING of 7 bytes: FRAME_SIZE_ERROR',
    async run(c) {
      c.send(frame(T.PING, 0, 0, Buffer.alloc(7)));
      return connError(c, [E.FRAME_SIZE_ERROR]);
    },
  },
  {
    id: '6.8',
    title: 'GOAWAY on a stream: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.GOAWAY, 0, 1, Buffer.alloc(8)));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.9',
    title: 'WINDOW_UPDATE of 0 on the connection: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(4)));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.9b',
    title: 'WINDOW_UPDATE of 0 on a stream: PROTOCOL_ERROR',
    async run(c) {
      c.send(openPost(1), frame(T.WINDOW_UPDATE, 0, 1, Buffer.alloc(4)));
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.9c',
    title: 'WINDOW_UPDATE of 3 bytes: FRAME_SIZE_ERROR',
    async run(c) {
      c.send(frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(3)));
      return connError(c, [E.FRAME_SIZE_ERROR]);
    },
  },
  {
    id: '6.9.1',
    title: 'a connection window over 2^31-1: FLOW_CONTROL_ERROR',
    async run(c) {
      const inc = Buffer.alloc(4);
      inc.writeUInt32BE(0x7fffffff);
      c.send(frame(T.WINDOW_UPDATE, 0, 0, inc), frame(T.WINDOW_UPDATE, 0, 0, inc));
      return connError(c, [E.FLOW_CONTROL_ERROR]);
    },
  },
  {
    id: '6.9.1b',
    title: 'a stream window over 2^31-1: FLOW_CONTROL_ERROR',
    async run(c) {
      const inc = Buffer.alloc(4);
      inc.writeUInt32BE(0x7fffffff);
      c.send(openPost(1), frame(T.WINDOW_UPDATE, 0, 1, inc), frame(T.WINDOW_UPDATE, 0, 1, inc));
      return streamError(c, 1, [E.FLOW_CONTROL_ERROR]);
    },
  },
  {
    id: '6.10',
    title: 'CONTINUATION without HEADERS: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.CONTINUATION, F.END_HEADERS, 1, headerBlock(base)));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '6.10b',
    title: 'HEADERS split over CONTINUATION is answered',
    async run(c) {
      const block = headerBlock(base);
      c.send(
        frame(T.HEADERS, F.END_STREAM, 1, block.subarray(0, 5)),
        frame(T.CONTINUATION, F.END_HEADERS, 1, block.subarray(5)),
      );
      return answered(c, 1);
    },
  },
  {
    id: '8.1.2',
    title: 'an upper-case header name: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(1, [...base, ['X-Upper', 'a']]));
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '8.1.2b',
    title: 'an unknown pseudo-header: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(1, [...base, [':foo', 'a']]));
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '8.1.2c',
    title: 'a pseudo-header after a regular one: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(1, [[':method', 'GET'], ['x', 'y'], ...base.slice(1)]));
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '8.1.2d',
    title: 'a connection-specific header: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(1, [...base, ['connection', 'keep-alive']]));
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '8.1.2e',
    title: 'TE other than trailers: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(1, [...base, ['te', 'gzip']]));
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '8.1.2f',
    title: 'no :path: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(1, base.slice(0, 3)));
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '8.1.2g',
    title: 'two :method: PROTOCOL_ERROR',
    async run(c) {
      c.send(hdr(1, [...base, [':method', 'POST']]));
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '8.1.2.6',
    title: 'content-length unlike the DATA sent: PROTOCOL_ERROR',
    async run(c) {
      c.send(
        hdr(1, [[':method', 'POST'], ...base.slice(1), ['content-length', '10']], F.END_HEADERS),
        frame(T.DATA, F.END_STREAM, 1, Buffer.from('abc')),
      );
      return streamError(c, 1, [E.PROTOCOL_ERROR]);
    },
  },
  {
    id: '8.2',
    title: 'PUSH_PROMISE from a client: PROTOCOL_ERROR',
    async run(c) {
      c.send(frame(T.PUSH_PROMISE, F.END_HEADERS, 1, Buffer.concat([Buffer.from([0, 0, 0, 2]), headerBlock(base)])));
      return connError(c, [E.PROTOCOL_ERROR]);
    },
  },
  // Floods: the attacker sends and does not read.
  {
    id: 'flood.ping',
    title: 'PING flood (100,000 PINGs, answers unread)',
    async run(c, t) {
      return survivesFlood(t, c, () => ping(Buffer.from('floodflo')), 100_000);
    },
  },
  {
    id: 'flood.settings',
    title: 'SETTINGS flood (100,000 SETTINGS, ACKs unread)',
    async run(c, t) {
      return survivesFlood(t, c, () => settings([[4, 65535]]), 100_000);
    },
  },
  {
    id: 'flood.reset',
    title: 'rapid reset (20,000 streams opened and cancelled at once)',
    async run(c, t) {
      let id = -1;
      return survivesFlood(
        t,
        c,
        () => {
          id += 2;
          return Buffer.concat([request(id, '/'), frame(T.RST_STREAM, 0, id, Buffer.from([0, 0, 0, E.CANCEL]))]);
        },
        20_000,
      );
    },
  },
  {
    id: 'flood.empty-data',
    title: 'empty DATA frames flood (100,000 on one stream)',
    async run(c, t) {
      let first = true;
      return survivesFlood(
        t,
        c,
        () => {
          if (first) {
            first = false;
            return openPost(1);
          }
          return frame(T.DATA, 0, 1);
        },
        100_000,
      );
    },
  },
  {
    id: 'flood.continuation',
    title: 'CONTINUATION flood (a header block that never ends)',
    async run(c, t) {
      let first = true;
      return survivesFlood(
        t,
        c,
        () => {
          if (first) {
            first = false;
            return frame(T.HEADERS, F.END_STREAM, 1, headerBlock(base));
          }
          return frame(T.CONTINUATION, 0, 1, headerBlock([['x-filler', 'y'.repeat(100)]]));
        },
        100_000,
      );
    },
  },
];

export async function runCase(kase: Case, target: Target): Promise<string | true> {
  const c = await open(target, kase.preface !== false);
  try {
    return await kase.run(c, target);
  } catch (err) {
    return `threw: ${(err as Error).message}`;
  } finally {
    c.close();
  }
}
