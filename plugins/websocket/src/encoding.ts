// Message encodings: none (text stays a string, binary a Buffer), JSON, XML-RPC.
import { Buffer } from 'node:buffer';
import { parseMethodCall, parseParams, serializeFault, serializeMethodResponse, type MethodCall } from '@skitai/xmlrpc';
import type { WsEncoding } from './types.js';

/** What goes on the wire: text or bytes. */
export interface Frame {
  data: string | Buffer;
  binary: boolean;
}

/** A message that could not be decoded: the socket is closed with 1007. */
export class DecodeError extends Error {}

/** An XML-RPC message is a methodCall ({ method, params }) or a list of values (<params>, <methodResponse>). */
export type XmlRpcMessage = MethodCall | unknown[];

const fromCodes = String.fromCharCode;

/**
 * A short ASCII text (up to 16 bytes) as a string, made in JavaScript: `buf.toString()` is a
 * call into C++ whose fixed cost (about 400 instructions on Node 20, by callgrind) is most of
 * the work for a short message. Undefined for anything longer or not ASCII. The bytes are
 * valid UTF-8 already (ws checks every text message), and ASCII bytes are their characters.
 */
export function shortAscii(b: Buffer): string | undefined {
  const n = b.length;
  if (n > 16) return undefined;
  let high = 0;
  for (let i = 0; i < n; i++) high |= b[i]!;
  if (high > 0x7f) return undefined;
  // prettier-ignore
  switch (n) {
    case 0: return '';
    case 1: return fromCodes(b[0]!);
    case 2: return fromCodes(b[0]!, b[1]!);
    case 3: return fromCodes(b[0]!, b[1]!, b[2]!);
    case 4: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!);
    case 5: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!);
    case 6: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!);
    case 7: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!);
    case 8: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!);
    case 9: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!);
    case 10: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!);
    case 11: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!);
    case 12: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!);
    case 13: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!);
    case 14: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!);
    case 15: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!);
    default: return fromCodes(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!, b[15]!);
  }
}

/** A text message as a string. */
export function asText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Buffer.isBuffer(data)) return shortAscii(data) ?? data.toString(); // no argument: node's utf8 fast path
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export function asBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function decode(encoding: WsEncoding, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): unknown {
  switch (encoding) {
    case 'none':
      return isBinary ? asBuffer(data) : asText(data);
    case 'json': {
      const text = asText(data);
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new DecodeError(`malformed JSON message: ${(err as Error).message}`);
      }
    }
    case 'xmlrpc': {
      const text = asText(data);
      try {
        return /^\s*(<\?xml[^>]*\?>\s*)?<methodCall[\s>]/.test(text) ? parseMethodCall(text) : parseParams(text);
      } catch (err) {
        throw new DecodeError(`malformed XML-RPC message: ${(err as Error).message}`);
      }
    }
  }
}

/** The frame for a value, or undefined for "send nothing" (undefined, null); '' is an empty message. */
export function encode(encoding: WsEncoding, value: unknown): Frame | undefined {
  if (value === undefined || value === null) return undefined;
  switch (encoding) {
    case 'none':
      if (typeof value === 'string') return { data: value, binary: false };
      if (Buffer.isBuffer(value)) return { data: value, binary: true };
      if (value instanceof Uint8Array)
        return { data: Buffer.from(value.buffer, value.byteOffset, value.byteLength), binary: true };
      if (value instanceof ArrayBuffer) return { data: Buffer.from(value), binary: true };
      return { data: typeof value === 'object' ? JSON.stringify(value) : String(value), binary: false };
    case 'json':
      return { data: JSON.stringify(value), binary: false };
    case 'xmlrpc':
      return { data: serializeMethodResponse(value), binary: false };
  }
}

/** An XML-RPC fault for a handler that threw. */
export function encodeFault(err: unknown): Frame {
  const e = err as { faultCode?: unknown; code?: unknown; message?: unknown };
  const code = typeof e?.faultCode === 'number' ? e.faultCode : typeof e?.code === 'number' ? e.code : 1;
  return { data: serializeFault(code, String(e?.message ?? err)), binary: false };
}
