// Strictly sequential load over ONE connection, for `npm run bench -- --instructions`: the next
// request (or WebSocket message) is sent only when the previous answer is complete, so the
// server handles exactly one request per event-loop turn and its instruction count per request
// repeats from run to run (with several connections, the batching per turn varies and so do
// the counts). The connection is kept between calls of run(), so the warm-up and the measured
// requests share it and the measured phase holds no connection set-up.
//
// As a module (the harness runs it in its own process; only the server is under valgrind):
//   const c = httpClient({ port, path, check }); await c.run(5000); c.close();
//   const c = wsClient({ port, path });          await c.run(5000); c.close();
// From the command line (for trying by hand):
//   node bench/clients/sequential.mjs http://127.0.0.1:PORT/path [--requests N]
//   node bench/clients/sequential.mjs ws://127.0.0.1:PORT/path [--requests N]
import net from 'node:net';
import tls from 'node:tls';
import { maskedTextFrame, upgradeRequest } from './ws-wire.mjs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const CRLF2 = Buffer.from('\r\n\r\n');

/** Connect with a time limit; resolves the socket. */
function connect(host, port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no connection to ${host}:${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** A TLS connection offering only h2 by ALPN (the scenario's self-signed certificate accepted). */
function connectTls(host, port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'localhost' });
    s.setNoDelay(true);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no TLS connection to ${host}:${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(t);
      if (s.alpnProtocol !== 'h2') {
        s.destroy();
        reject(new Error(`the server chose ${s.alpnProtocol || 'no protocol'} by ALPN, not h2`));
      } else resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * A base for the two clients: one socket, a `feed(buffer)` parser that calls `complete(err)`
 * when one answer is whole, a per-answer time limit, and reconnection between run() calls
 * when the server closed the idle connection (counted in `reconnects`).
 */
class Sequential {
  constructor({ host = '127.0.0.1', port, timeoutMs = 60_000, tls: secure = false }) {
    Object.assign(this, { host, port, timeoutMs, secure });
    this.sock = null;
    this.reconnects = 0;
    this.connections = 0;
    this.pending = null;
  }

  async ensure() {
    if (this.sock && !this.sock.destroyed && !this.closedByPeer) return;
    if (this.connections > 0) this.reconnects++;
    this.connections++;
    this.closedByPeer = false;
    const s = await (this.secure ? connectTls : connect)(this.host, this.port, this.timeoutMs);
    this.sock = s;
    this.reset();
    const mine = () => s === this.sock;
    s.on('data', (d) => {
      if (mine())
        try {
          this.feed(d);
        } catch (e) {
          this.fail(e);
        }
    });
    s.on('error', (e) => {
      if (mine()) this.fail(e);
    });
    s.on('close', () => {
      if (mine()) {
        this.closedByPeer = true;
        this.fail(new Error('the server closed the connection'));
      }
    });
    s.on('end', () => {
      if (mine()) this.closedByPeer = true;
    });
    await this.handshake();
  }

  /** One exchange: send `bytes`, resolve when feed() completes it. */
  exchange(bytes) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new Error(`no complete answer in ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.pending = { resolve, reject, timer };
      this.sock.write(bytes);
    });
  }

  complete(err) {
    const p = this.pending;
    if (!p) {
      if (err) this.fail(err);
      return;
    }
    this.pending = null;
    clearTimeout(p.timer);
    if (err) {
      this.sock.destroy();
      p.reject(err);
    } else p.resolve();
  }

  fail(err) {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    this.sock?.destroy();
    p.reject(err);
  }

  /** n exchanges one after the other. */
  async run(n) {
    await this.ensure();
    for (let i = 0; i < n; i++) await this.exchange(this.message);
    return n;
  }

  close() {
    this.fail(new Error('the client was closed'));
    const s = this.sock;
    this.sock = null;
    s?.destroy();
  }
}

/** HTTP/1.1 keep-alive GETs; every answer must pass check(status, body) (the scenario's). */
class HttpSequential extends Sequential {
  constructor(o) {
    super(o);
    this.path = o.path;
    this.check = o.check || ((status) => status >= 200 && status < 300);
    this.message = Buffer.from(`GET ${o.path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n\r\n`);
    this.bytes = 0;
  }

  async handshake() {}

  reset() {
    this.head = Buffer.alloc(0);
    this.body = null;
  }

  feed(d) {
    while (d.length) {
      if (!this.body) {
        this.head = this.head.length ? Buffer.concat([this.head, d]) : d;
        const end = this.head.indexOf(CRLF2);
        if (end < 0) {
          if (this.head.length > 65536) throw new Error('response head over 64 KiB');
          return;
        }
        const lines = this.head.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
        const h = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          if (i > 0) h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        if (!status) throw new Error(`not an HTTP/1.1 answer: ${JSON.stringify(lines[0])}`);
        if (/close/i.test(h.connection || ''))
          throw new Error('the server answered Connection: close (keep-alive is needed)');
        const chunked = /chunked/i.test(h['transfer-encoding'] || '');
        const length = chunked
          ? -1
          : h['content-length'] !== undefined
            ? Number(h['content-length'])
            : status === 204 || status === 304
              ? 0
              : NaN;
        if (Number.isNaN(length)) throw new Error('an answer without Content-Length or chunked encoding');
        this.body = { status, chunked, length, parts: [], got: 0, raw: Buffer.alloc(0) };
        d = this.head.subarray(end + 4);
        this.head = Buffer.alloc(0);
      }
      d = this.body.chunked ? this.feedChunked(d) : this.feedLength(d);
    }
  }

  feedLength(d) {
    const b = this.body;
    const take = Math.min(d.length, b.length - b.got);
    if (take) {
      b.parts.push(d.subarray(0, take));
      b.got += take;
    }
    if (b.got === b.length) this.done(Buffer.concat(b.parts, b.got));
    return d.subarray(take);
  }

  feedChunked(d) {
    const b = this.body;
    b.raw = b.raw.length ? Buffer.concat([b.raw, d]) : d;
    let pos = 0;
    for (;;) {
      const eol = b.raw.indexOf('\r\n', pos);
      if (eol < 0) break;
      const size = parseInt(b.raw.subarray(pos, eol).toString('latin1'), 16);
      if (!Number.isFinite(size)) throw new Error('bad chunk size');
      if (size === 0) {
        const end = b.raw.indexOf(CRLF2, eol);
        if (end < 0) break; // trailers not complete yet
        const rest = b.raw.subarray(end + 4);
        this.done(Buffer.concat(b.parts));
        return rest;
      }
      if (b.raw.length < eol + 2 + size + 2) break;
      b.parts.push(b.raw.subarray(eol + 2, eol + 2 + size));
      pos = eol + 2 + size + 2;
    }
    b.raw = b.raw.subarray(pos);
    return Buffer.alloc(0);
  }

  done(body) {
    const { status } = this.body;
    this.body = null;
    this.bytes += body.length;
    if (!this.check(status, body))
      this.complete(
        new Error(
          `unexpected answer to GET ${this.path}: ${status} ${body.length} bytes ${JSON.stringify(body.subarray(0, 80).toString())}`,
        ),
      );
    else this.complete();
  }
}

/** WebSocket echo: the same masked 'Hello World' text frame; every echo must equal it. */
class WsSequential extends Sequential {
  constructor(o) {
    super(o);
    this.path = o.path;
    this.payload = Buffer.from(o.payload ?? 'Hello World');
    this.message = maskedTextFrame(this.payload);
  }

  reset() {
    this.buf = Buffer.alloc(0);
    this.upgraded = false;
  }

  handshake() {
    return this.exchange(upgradeRequest(this.path, `${this.host}:${this.port}`));
  }

  feed(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (!this.upgraded) {
      const end = this.buf.indexOf(CRLF2);
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101'))
        throw new Error(`WebSocket upgrade refused: ${JSON.stringify(head.split('\r\n')[0])}`);
      this.upgraded = true;
      this.buf = this.buf.subarray(end + 4);
      this.complete();
    }
    while (this.buf.length >= 2) {
      const op = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f,
        hdr = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        hdr = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        hdr = 10;
      }
      if (this.buf.length < hdr + len) return;
      const payload = this.buf.subarray(hdr, hdr + len);
      this.buf = this.buf.subarray(hdr + len);
      if (op === 0x1 || op === 0x2) {
        if (!payload.equals(this.payload))
          this.complete(new Error(`the echo differs: ${JSON.stringify(payload.subarray(0, 80).toString())}`));
        else this.complete();
      } else if (op === 0x8) {
        throw new Error('the server closed the WebSocket');
      } // pings and pongs are ignored
    }
  }
}

/**
 * HTTP/2 in clear text by prior knowledge (as h2load speaks it), or over TLS with ALPN h2
 * (`tls: true`, as h2load does for https): one GET a new stream, literal
 * header fields (no HPACK state to keep), the connection window topped up as DATA arrives.
 * An answer is complete at END_STREAM on its stream; its DATA must pass check(200, body).
 */
class H2Sequential extends Sequential {
  constructor(o) {
    super(o);
    this.path = o.path;
    this.check = o.check || (() => true);
    this.stream = -1;
  }

  static frame(type, flags, stream, payload = Buffer.alloc(0)) {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    return Buffer.concat([h, payload]);
  }

  static literal(name, value) {
    const n = Buffer.from(name),
      v = Buffer.from(value);
    if (n.length > 126 || v.length > 126) throw new Error('header too long for this client');
    return Buffer.concat([Buffer.from([0, n.length]), n, Buffer.from([v.length]), v]);
  }

  async handshake() {
    this.sock.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), H2Sequential.frame(4, 0, 0)]));
  }

  reset() {
    this.buf = Buffer.alloc(0);
    this.data = [];
    this.stream = -1;
  }

  get message() {
    this.stream += 2;
    this.data = [];
    const block = Buffer.concat([
      H2Sequential.literal(':method', 'GET'),
      H2Sequential.literal(':scheme', this.secure ? 'https' : 'http'),
      H2Sequential.literal(':authority', `${this.host}:${this.port}`),
      H2Sequential.literal(':path', this.path),
    ]);
    return H2Sequential.frame(1, 0x5, this.stream, block);
  }

  feed(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      const type = this.buf[3],
        flags = this.buf[4],
        stream = this.buf.readUInt32BE(5) & 0x7fffffff;
      const payload = this.buf.subarray(9, 9 + len);
      this.buf = this.buf.subarray(9 + len);
      if (type === 4 && !(flags & 1))
        this.sock.write(H2Sequential.frame(4, 1, 0)); // SETTINGS: ACK
      else if (type === 7) throw new Error(`GOAWAY ${payload.readUInt32BE(4)}`);
      else if (type === 3 && stream === this.stream) throw new Error(`RST_STREAM ${payload.readUInt32BE(0)}`);
      else if (type === 0 && len > 0) {
        const inc = Buffer.alloc(4);
        inc.writeUInt32BE(len);
        this.sock.write(H2Sequential.frame(8, 0, 0, inc)); // keep the connection window open
      }
      if (stream === this.stream && (type === 0 || type === 1)) {
        if (type === 0) this.data.push(payload);
        if (flags & 1) {
          const body = Buffer.concat(this.data);
          this.complete(
            this.check(200, body)
              ? null
              : new Error(`unexpected answer: ${JSON.stringify(body.toString().slice(0, 80))}`),
          );
        }
      }
    }
  }
}

export const httpClient = (o) => new HttpSequential(o);
export const h2Client = (o) => new H2Sequential(o);
export const wsClient = (o) => new WsSequential(o);

// ---------------------------------------------------------------- command line
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const url = new URL(process.argv[2]);
  const i = process.argv.indexOf('--requests');
  const n = i > 0 ? Number(process.argv[i + 1]) : 1000;
  const o = { host: url.hostname, port: Number(url.port), path: url.pathname + url.search };
  const c = url.protocol === 'ws:' ? wsClient(o) : httpClient(o);
  const t0 = performance.now();
  try {
    await c.run(n);
    const s = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({ requests: n, seconds: s, rps: n / s, reconnects: c.reconnects }));
  } catch (e) {
    console.error(e.message);
    process.exitCode = 1;
  } finally {
    c.close();
  }
}
