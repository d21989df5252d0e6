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

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;

/** Watches a socket's incoming frames; `fail` is called once, on the first invalid byte. */
export function guardUtf8(socket: Socket, fail: () => void): () => void {
  const header = Buffer.alloc(14);
  let headerLength = 0; // bytes of the current frame header collected so far
  let remaining = 0; // payload bytes of the current frame still to come
  let mask: Buffer | undefined; // the current frame's masking key (client frames are masked)
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
    for (let i = 0; i < bytes.length; i++) plain[i] = bytes[i]! ^ mask![(maskOffset + i) & 3]!;
    maskOffset += bytes.length;
    try {
      decoder!.decode(plain, { stream: true });
      return true;
    } catch {
      return false;
    }
  }

  function onData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - at);
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
      // Collect the header: 2 bytes, then the extended length and the masking key.
      header[headerLength++] = chunk[at++]!;
      if (headerLength < 2) continue;
      const b1 = header[1]!;
      const len7 = b1 & 0x7f;
      const masked = (b1 & 0x80) !== 0;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      if (headerLength < need) continue;
      let length = len7;
      let p = 2;
      if (len7 === 126) { length = header.readUInt16BE(2); p = 4; }
      else if (len7 === 127) { length = Number(header.readBigUInt64BE(2)); p = 10; }
      mask = masked ? Buffer.from(header.subarray(p, p + 4)) : Buffer.alloc(4);
      maskOffset = 0;
      headerLength = 0;
      const b0 = header[0]!;
      const fin = (b0 & 0x80) !== 0;
      const rsv1 = (b0 & 0x40) !== 0;
      const opcode = b0 & 0x0f;
      remaining = length;
      finalFrame = fin;
      validating = false;
      if (opcode === OP_TEXT) {
        // A compressed message is checked by ws once inflated; a frame whole in this read too.
        const whole = fin && chunk.length - at >= length;
        if (!rsv1 && !whole) {
          decoder = new TextDecoder('utf-8', { fatal: true });
          validating = true;
        }
        inText = !fin;
      } else if (opcode === OP_CONTINUATION) {
        validating = inText && decoder !== undefined;
        if (fin) inText = false;
      }
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
