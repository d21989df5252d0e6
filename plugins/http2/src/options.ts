import fs from 'node:fs';
import tls from 'node:tls';
import { checkOptionKeys, type Kernel } from '@skitai/kernel';
import { codes } from './errors.js';
import { Buffer } from 'node:buffer';

export interface Http2Options {
  /** The certificate chain: PEM text, or a file path (relative to the startup script's folder). */
  cert?: string | Buffer;
  /** The private key: PEM text, or a file path. */
  key?: string | Buffer;
  /** The key's passphrase, when it is encrypted. */
  passphrase?: string;
  /**
   * HTTP/2 in clear text on a plain port, by prior knowledge and by `Upgrade: h2c` (default
   * true). Without cert/key that port is the kernel's own.
   */
  h2c?: boolean;
  /** A plain port that redirects every request to the HTTPS port (301): Skitai's enable_forward. */
  forward?: number | { port: number; address?: string };
  /** Streams a client may have open at once on one connection (default 100). */
  maxConcurrentStreams?: number;
  /** The largest header list a client may send, in bytes (default: the kernel's 16 KiB). */
  maxHeaderListSize?: number;
  /** Memory one session may use for its frames and streams, in MB (node's default 10). */
  maxSessionMemory?: number;
  /** Server push for `hintPromise()` when the client allows it (default true); early hints otherwise. */
  push?: boolean;
}

export interface ResolvedOptions {
  tls: { cert: Buffer; key: Buffer; passphrase?: string } | undefined;
  h2c: boolean;
  forward: { port: number; address?: string } | undefined;
  maxConcurrentStreams: number;
  maxHeaderListSize: number | undefined;
  maxSessionMemory: number;
  push: boolean;
}

function positiveInt(name: string, value: unknown, fallback: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw codes.SKT_HTTP2_OPTION(name, value, `an integer from 1 to ${max}`);
  }
  return value;
}

/** Checks what can be checked before start (types, ranges); files are read at start. */
export function checkOptions(options: Http2Options): void {
  if (options === null || typeof options !== 'object') throw codes.SKT_HTTP2_OPTION('options', options, 'an object');
  // An unknown key is SKT_INVALID_OPTION with the nearest valid one, as every plugin's.
  checkOptionKeys('@skitai/http2', options, [
    'cert',
    'key',
    'passphrase',
    'h2c',
    'forward',
    'maxConcurrentStreams',
    'maxHeaderListSize',
    'maxSessionMemory',
    'push',
  ]);
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw codes.SKT_HTTP2_OPTION(options.cert === undefined ? 'cert' : 'key', undefined, 'cert and key given together');
  }
  for (const name of ['cert', 'key'] as const) {
    const v = options[name];
    if (v !== undefined && typeof v !== 'string' && !Buffer.isBuffer(v))
      throw codes.SKT_HTTP2_OPTION(name, typeof v, 'PEM text, a Buffer or a file path');
  }
  if (options.passphrase !== undefined && typeof options.passphrase !== 'string')
    throw codes.SKT_HTTP2_OPTION('passphrase', typeof options.passphrase, 'a string');
  if (options.h2c !== undefined && typeof options.h2c !== 'boolean')
    throw codes.SKT_HTTP2_OPTION('h2c', options.h2c, 'true or false');
  if (options.push !== undefined && typeof options.push !== 'boolean')
    throw codes.SKT_HTTP2_OPTION('push', options.push, 'true or false');
  if (options.forward !== undefined) {
    if (options.cert === undefined)
      throw codes.SKT_HTTP2_OPTION('forward', options.forward, 'cert and key: it redirects to the HTTPS port');
    const f = typeof options.forward === 'number' ? { port: options.forward } : options.forward;
    if (f === null || typeof f !== 'object')
      throw codes.SKT_HTTP2_OPTION('forward', options.forward, 'a port or { port, address }');
    if (!Number.isInteger(f.port) || f.port < 0 || f.port > 65535)
      throw codes.SKT_HTTP2_OPTION('forward', f.port, 'a port from 0 to 65535');
  }
  positiveInt('maxConcurrentStreams', options.maxConcurrentStreams, 100);
  positiveInt('maxHeaderListSize', options.maxHeaderListSize, 1);
  positiveInt('maxSessionMemory', options.maxSessionMemory, 10);
}

function pem(kernel: Kernel, name: string, value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  const file = kernel.abspath(value);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw codes.SKT_HTTP2_TLS(
      name,
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** Reads the certificate and key and builds the TLS context: a wrong passphrase fails here, at start. */
export function resolveOptions(kernel: Kernel, options: Http2Options): ResolvedOptions {
  checkOptions(options);
  let tlsOptions: ResolvedOptions['tls'];
  if (options.cert !== undefined && options.key !== undefined) {
    const cert = pem(kernel, 'certificate', options.cert);
    const key = pem(kernel, 'key', options.key);
    try {
      tls.createSecureContext({ cert, key, passphrase: options.passphrase });
    } catch (err) {
      const message = (err as Error).message;
      const why = /bad decrypt|bad password|interrupted or cancelled|maybe wrong password/i.test(message)
        ? options.passphrase === undefined
          ? 'the key is encrypted and no passphrase was given'
          : 'the passphrase is wrong'
        : /key values mismatch/i.test(message)
          ? 'the key does not belong to the certificate'
          : message;
      throw codes.SKT_HTTP2_TLS('certificate and key', why);
    }
    tlsOptions = { cert, key, passphrase: options.passphrase };
  }
  const f = options.forward;
  return {
    tls: tlsOptions,
    h2c: options.h2c ?? true,
    forward: f === undefined ? undefined : typeof f === 'number' ? { port: f } : { port: f.port, address: f.address },
    maxConcurrentStreams: positiveInt('maxConcurrentStreams', options.maxConcurrentStreams, 100),
    maxHeaderListSize: options.maxHeaderListSize,
    maxSessionMemory: positiveInt('maxSessionMemory', options.maxSessionMemory, 10),
    push: options.push ?? true,
  };
}
