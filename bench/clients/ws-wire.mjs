// What both WebSocket load clients put on the wire: the upgrade request and a masked text frame.
import crypto from 'node:crypto';

export function upgradeRequest(pathname, host) {
  const key = crypto.randomBytes(16).toString('base64');
  return `GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

/** A client frame: FIN + text, masked, payload under 126 bytes. */
export function maskedTextFrame(payload) {
  const mask = crypto.randomBytes(4);
  const f = Buffer.alloc(6 + payload.length);
  f[0] = 0x81;
  f[1] = 0x80 | payload.length;
  mask.copy(f, 2);
  for (let i = 0; i < payload.length; i++) f[6 + i] = payload[i] ^ mask[i & 3];
  return f;
}
