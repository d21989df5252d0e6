// Fail-fast UTF-8 for text messages that arrive in pieces. `ws` checks a text message's UTF-8
// once the whole message is in: a message fragmented into frames, or one frame spread over
// several TCP reads, is read to its end (up to maxMessageSize) before invalid bytes at its
// start are refused. This reads the same bytes beside `ws` (a second 'data' listener on the
// socket, put before ws's own: ws unmasks payloads in place), follows the frame headers, and feeds the payload of a text message
// that is not whole in one read to a streaming UTF-8 decoder: the first impossible byte closes
// the connection with 1007, as RFC 6455 8.1 asks ("fail the connection" at once).
// A text frame whole in one read (the common small message) is left to ws: no decoding here.
import type { Socket } from 'node:net';
import { TextDecoder } from 'node:util';
import { Buffer } from 'node:buffer';

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;

/** Watches a socket's incoming frames; `fail` is called once, on the first invalid byte. */
export function guardUtf8(socket: Socket, fail: () => void): () => void {
  const header = Buffer.alloc(14); // a header split over reads is collected here
  let headerLength = 0; // bytes of the current frame header collected so far
  let remaining = 0; // payload bytes of the current frame still to come
  const mask = new Uint8Array(4); // the current frame's masking key (client frames are masked)
  let maskOffset = 0;
  let validating = false; // the current frame's payload goes to the decoder
  let decoder: TextDecoder | undefined; // set while a text message is being checked
  let inText = false; // a fragmented text message is open (FIN not seen yet)
  let finalFrame = false;
  let done = false;

  const stop = () => {
    if (done) return;
    done = true;
    socket.off('data', onData);
  };

  function feed(bytes: Buffer): boolean {
    const plain = Buffer.allocUnsafe(bytes.length);
    for (let i = 0; i < bytes.length; i++) plain[i] = bytes[i]! ^ mask[(maskOffset + i) & 3]!;
    maskOffset += bytes.length;
    try {
      decoder!.decode(plain, { stream: true });
      return true;
    } catch {
      return false;
    }
  }

  /** Bytes of the header that starts at src[at], or 0 when fewer than 2 bytes are there. */
  function headerSize(src: Buffer, at: number, end: number): number {
    if (end - at < 2) return 0;
    const b1 = src[at + 1]!;
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
  }

  /** Reads a whole header at src[at]; `rest` is how many payload bytes follow in this read. */
  function startFrame(src: Buffer, at: number, rest: number): void {
    const b0 = src[at]!;
    const b1 = src[at + 1]!;
    const len7 = b1 & 0x7f;
    let length = len7;
    let p = at + 2;
    if (len7 === 126) {
      length = src.readUInt16BE(p);
      p += 2;
    } else if (len7 === 127) {
      length = Number(src.readBigUInt64BE(p));
      p += 8;
    }
    if ((b1 & 0x80) !== 0) {
      mask[0] = src[p]!;
      mask[1] = src[p + 1]!;
      mask[2] = src[p + 2]!;
      mask[3] = src[p + 3]!;
    } else {
      mask[0] = mask[1] = mask[2] = mask[3] = 0;
    }
    maskOffset = 0;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    remaining = length;
    finalFrame = fin;
    validating = false;
    if (opcode === OP_TEXT) {
      // A compressed message (RSV1) is checked by ws once inflated; a frame whole in this read too.
      if ((b0 & 0x40) === 0 && !(fin && rest >= length)) {
        decoder = new TextDecoder('utf-8', { fatal: true });
        validating = true;
      }
      inText = !fin;
    } else if (opcode === OP_CONTINUATION) {
      validating = inText && decoder !== undefined;
      if (fin) inText = false;
    }
  }

  function onData(chunk: Buffer): void {
    const end = chunk.length;
    // The common read: one whole final frame with a short payload, outside a fragmented text
    // message. ws checks such a frame itself, and the state here would end as it starts.
    if (remaining === 0 && headerLength === 0 && !inText && end >= 2) {
      const b1 = chunk[1]!;
      const len7 = b1 & 0x7f;
      if ((chunk[0]! & 0x80) !== 0 && len7 < 126 && end === 2 + ((b1 & 0x80) !== 0 ? 4 : 0) + len7) return;
    }
    let at = 0;
    while (at < end) {
      if (remaining > 0) {
        const take = Math.min(remaining, end - at);
        if (validating && !feed(chunk.subarray(at, at + take))) {
          stop();
          fail();
          return;
        }
        remaining -= take;
        at += take;
        if (remaining === 0) endFrame();
        continue;
      }
      if (headerLength === 0) {
        // The common case: the whole header is in this read.
        const size = headerSize(chunk, at, end);
        if (size !== 0 && end - at >= size) {
          startFrame(chunk, at, end - at - size);
          at += size;
          if (remaining === 0) endFrame();
          continue;
        }
      }
      // A header split over reads: collect it byte by byte.
      header[headerLength++] = chunk[at++]!;
      const size = headerSize(header, 0, headerLength);
      if (size === 0 || headerLength < size) continue;
      headerLength = 0;
      startFrame(header, 0, end - at);
      if (remaining === 0) endFrame();
    }
  }

  function endFrame(): void {
    if (validating && finalFrame) decoder = undefined;
    else if (!inText) decoder = undefined;
    validating = false;
  }

  socket.prependListener('data', onData);
  socket.once('close', stop);
  return stop;
}
