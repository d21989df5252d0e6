// Signed and encrypted cookie values: AES-256-GCM (the tag authenticates, so a tampered or
// foreign value fails to open and is ignored). The key is derived from the secure key and a
// purpose, so a session cookie never opens as a message box and vice versa.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';

const keys = new Map<string, Buffer>();

function keyFor(securekey: string, purpose: string): Buffer {
  const id = `${purpose}\0${securekey}`;
  let key = keys.get(id);
  if (!key) {
    key = createHash('sha256').update(id).digest();
    keys.set(id, key);
  }
  return key;
}

export function seal(securekey: string, purpose: string, data: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(securekey, purpose), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The value, or undefined when it does not open (tampered, another key, garbage). */
export function open(securekey: string, purpose: string, sealed: string): unknown {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 29) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', keyFor(securekey, purpose), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
