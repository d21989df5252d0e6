// Autobahn-style cases written byte for byte over a raw socket: empty messages (1.1.1, 6.1.1,
// 6.1.2, 9.7.1) and invalid UTF-8 refused where it appears (6.4.1-6.4.4, "fail fast").
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '@skitai/app';
import { wsRoute } from '../src/index.js';
import { serve } from '../test-support/helpers.js';
import { connectRaw, frame } from '../test-support/frames.js';

const TEXT = 0x1;
const CONT = 0x0;
const PING = 0x9;
const PONG = 0xa;

function echoApp() {
  const app = new App();
  app.route(
    '/echo',
    wsRoute({}, (_was, m) => m),
  );
  app.route(
    '/values',
    wsRoute({}, (_was, m) => (m === 'null' ? null : m === 'undefined' ? undefined : m === 'empty' ? '' : m)),
  );
  return app;
}

// Autobahn 6.4.x: "κόσμε" then U+10FFFF+1 encoded (F4 90 80 80, impossible from its second
// byte on), then "edited".
const VALID = Buffer.from('κόσμε', 'utf8');
const INVALID = Buffer.from([0xf4, 0x90, 0x80, 0x80]);
const REST = Buffer.from('edited', 'utf8');

describe('conformance (Autobahn-style, raw frames)', { timeout: 30_000 }, () => {
  test('1.1.1 / 6.1.1: an empty text message is echoed as an empty text frame (81 00)', async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/echo');
      c.write(frame(TEXT, ''));
      const f = await c.next();
      assert.deepEqual(f, { fin: true, opcode: TEXT, payload: Buffer.alloc(0) });
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('6.1.2: three empty fragments are one empty message', async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/echo');
      c.write(frame(TEXT, '', { fin: false }), frame(CONT, '', { fin: false }), frame(CONT, ''));
      assert.deepEqual(await c.next(), { fin: true, opcode: TEXT, payload: Buffer.alloc(0) });
      c.write(frame(TEXT, 'after'));
      assert.equal((await c.next())!.payload.toString(), 'after');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('9.7.1: 1000 empty text messages, 1000 empty echoes in order', async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/echo');
      c.write(...Array.from({ length: 1000 }, () => frame(TEXT, '')), frame(TEXT, 'last'));
      for (let i = 0; i < 1000; i++)
        assert.deepEqual(await c.next(), { fin: true, opcode: TEXT, payload: Buffer.alloc(0) });
      assert.equal((await c.next())!.payload.toString(), 'last');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test("a handler's '' sends an empty message; null and undefined send nothing", async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/values');
      c.write(frame(TEXT, 'null'), frame(TEXT, 'undefined'), frame(TEXT, 'empty'), frame(TEXT, 'end'));
      assert.deepEqual(await c.next(), { fin: true, opcode: TEXT, payload: Buffer.alloc(0) });
      assert.equal((await c.next())!.payload.toString(), 'end');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('6.4.1: invalid UTF-8 in the 2nd of 3 fragments closes with 1007 before the 3rd is sent', async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/echo');
      c.write(frame(TEXT, VALID, { fin: false }));
      // A ping answered proves the valid first fragment was read and did not close anything.
      c.write(frame(PING, 'p1'));
      assert.equal((await c.next())!.opcode, PONG);
      c.write(frame(CONT, INVALID, { fin: false }));
      assert.equal(await c.closeCode(), 1007);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('6.4.2: the invalid byte mid-fragment (valid bytes before it in the same frame): 1007 at once', async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/echo');
      c.write(frame(TEXT, Buffer.concat([VALID, INVALID.subarray(0, 1)]), { fin: false }));
      c.write(frame(PING, 'p1'));
      assert.equal((await c.next())!.opcode, PONG);
      c.write(frame(CONT, Buffer.concat([INVALID.subarray(1), REST.subarray(0, 2)]), { fin: false }));
      assert.equal(await c.closeCode(), 1007);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('6.4.3: one frame sent in 3 chunks, invalid in the 2nd chunk: 1007 before the 3rd chunk', async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/echo');
      const whole = frame(TEXT, Buffer.concat([VALID, INVALID, REST]));
      const headerLength = 6; // 2 bytes + the masking key (payload under 126 bytes)
      const cut1 = headerLength + VALID.length;
      const cut2 = cut1 + INVALID.length;
      c.socket.write(whole.subarray(0, cut1));
      c.socket.write(whole.subarray(cut1, cut2));
      assert.equal(await c.closeCode(), 1007);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('6.4.4: one frame in 3 chunks, the invalid byte alone in its chunk: 1007 before the rest', async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/echo');
      const whole = frame(TEXT, Buffer.concat([VALID, INVALID, REST]));
      const cut1 = 6 + VALID.length + 1; // ... F4 (still possibly valid)
      c.socket.write(whole.subarray(0, cut1));
      // The next byte (0x90) after F4 can never be valid.
      c.socket.write(whole.subarray(cut1, cut1 + 1));
      assert.equal(await c.closeCode(), 1007);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('without failFastUtf8, as ws alone: the invalid fragment is read on, a ping still answered', async () => {
    const s = await serve([['/', echoApp()]], { failFastUtf8: false });
    try {
      const c = await connectRaw(s.port, '/echo');
      c.write(frame(TEXT, VALID, { fin: false }), frame(CONT, INVALID, { fin: false }), frame(PING, 'p'));
      assert.equal((await c.next())!.opcode, PONG);
      c.write(frame(CONT, REST));
      assert.equal(await c.closeCode(), 1007);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('valid UTF-8 split anywhere (fragments and reads) is one message, echoed whole', async () => {
    const s = await serve([['/', echoApp()]]);
    try {
      const c = await connectRaw(s.port, '/echo');
      const text = Buffer.from('héllo wörld κόσμε 𝄞 end', 'utf8');
      // Fragments cut inside multi-byte characters, each written one byte at a time.
      const parts = [text.subarray(0, 2), text.subarray(2, 9), text.subarray(9, 27), text.subarray(27)];
      const bytes = Buffer.concat(
        parts.map((p, i) => frame(i === 0 ? TEXT : CONT, p, { fin: i === parts.length - 1 })),
      );
      for (let i = 0; i < bytes.length; i++) c.socket.write(bytes.subarray(i, i + 1));
      const f = await c.next();
      assert.equal(f!.opcode, TEXT);
      assert.deepEqual(f!.payload, text);
      c.destroy();
    } finally {
      await s.close();
    }
  });
  test('text messages of 0 to 20 bytes, ASCII or not, reach the handler as the same string', async () => {
    // Short ASCII texts are made into strings in JavaScript (up to 16 bytes), the rest by node:
    // both sides of that line, and non-ASCII at each position, come back as they were sent.
    const app = new App();
    app.route(
      '/json',
      wsRoute({}, (_was, m: string) => JSON.stringify([m.length, m])),
    );
    const s = await serve([['/', app]]);
    try {
      const c = await connectRaw(s.port, '/json');
      const texts: string[] = [];
      for (let n = 0; n <= 20; n++) {
        const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + ((i * 7) % 0x5f))).join('');
        texts.push(ascii, ascii.slice(0, -1) + (n > 0 ? 'é' : ''), n > 0 ? '\u0000' + ascii.slice(1) : ascii);
      }
      texts.push('\u007f'.repeat(16), 'κόσμε', '\u{1F600}'.repeat(4));
      for (const t of texts) {
        c.write(frame(TEXT, t));
        const f = await c.next();
        assert.deepEqual(JSON.parse(f!.payload.toString('utf8')), [t.length, t]);
      }
      c.destroy();
    } finally {
      await s.close();
    }
  });
});
