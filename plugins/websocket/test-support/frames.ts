// A WebSocket client over a raw socket, for byte-exact conformance tests (the Autobahn
// testsuite's way): the handshake by hand, frames written as given, frames read as they come.
import net from 'node:net';

export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** One masked client frame: `frame(0x1, 'hi')`, `frame(0x0, bytes, { fin: false })`. */
export function frame(opcode: number, payload: string | Buffer | number[], options: { fin?: boolean } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const fin = options.fin ?? true;
  const len = data.length;
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  if (len < 126) head.push(0x80 | len);
  else if (len < 65536) head.push(0x80 | 126, len >> 8, len & 0xff);
  else {
    head.push(0x80 | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = data[i]! ^ MASK[i & 3]!;
  return Buffer.concat([Buffer.from(head), MASK, masked]);
}

/** A handshaken raw connection: write bytes, await frames in order, or the close. */
export class RawWs {
  private buffer = Buffer.alloc(0);
  private readonly frames: RawFrame[] = [];
  private waiters: Array<() => void> = [];
  ended = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private parse(): void {
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let len = b[1]! & 0x7f;
      let p = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        p = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        p = 10;
      }
      if (b.length < p + len) return;
      this.frames.push({
        fin: (b[0]! & 0x80) !== 0,
        opcode: b[0]! & 0x0f,
        payload: Buffer.from(b.subarray(p, p + len)),
      });
      this.buffer = b.subarray(p + len);
      this.wake();
    }
  }

  write(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** The next frame from the server; undefined when the connection ended first. */
  async next(): Promise<RawFrame | undefined> {
    while (this.frames.length === 0 && !this.ended) await new Promise<void>((r) => this.waiters.push(r));
    return this.frames.shift();
  }

  /** Waits for the server's close frame: its status code (undefined when it had none). */
  async closeCode(): Promise<number | undefined> {
    for (;;) {
      const f = await this.next();
      if (f === undefined) throw new Error('the connection ended without a close frame');
      if (f.opcode === 0x8) return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Connects and completes the opening handshake; rejects unless the answer is 101. */
export function connectRaw(port: number, path: string): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const status = head.subarray(0, end).toString('latin1').split('\r\n')[0]!;
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        socket.destroy();
        reject(new Error(`handshake refused: ${status}`));
        return;
      }
      const ws = new RawWs(socket);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.emit('data', rest);
      resolve(ws);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}
