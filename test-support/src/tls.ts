import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface SelfSignedOptions {
  /** The subject's common name (default 'localhost'). */
  commonName?: string;
  /** subjectAltName entries (default DNS:localhost and IP:127.0.0.1); an empty list adds none. */
  altNames?: string[];
  /** Days the certificate is valid (default 2). */
  days?: number;
  /** Also write the key encrypted (AES-256) with this passphrase, as key-encrypted.pem. */
  passphrase?: string;
}

export interface SelfSigned {
  /** The paths of the PEM files written. */
  certFile: string;
  keyFile: string;
  /** Set when a passphrase was given. */
  encryptedKeyFile?: string;
  /** The PEM texts of the certificate and the (unencrypted) key. */
  cert: string;
  key: string;
}

function openssl(args: string[], what: string): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
    throw new Error(`openssl could not ${what}: ${why}`);
  }
}

/**
 * A self-signed RSA certificate made by openssl in `dir` (created if missing): cert.pem and
 * key.pem, for TLS servers in tests and benchmarks. A test fixture, made per run, never reused.
 */
export function selfSignedCert(dir: string, options: SelfSignedOptions = {}): SelfSigned {
  const { commonName = 'localhost', altNames = ['DNS:localhost', 'IP:127.0.0.1'], days = 2 } = options;
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile];
  args.push('-days', String(days), '-subj', `/CN=${commonName}`);
  if (altNames.length > 0) args.push('-addext', `subjectAltName=${altNames.join(',')}`);
  openssl(args, 'make a self-signed certificate');
  let encryptedKeyFile: string | undefined;
  if (options.passphrase !== undefined) {
    encryptedKeyFile = path.join(dir, 'key-encrypted.pem');
    const pass = `pass:${options.passphrase}`;
    openssl(['pkey', '-in', keyFile, '-aes256', '-passout', pass, '-out', encryptedKeyFile], 'encrypt the key');
  }
  return {
    certFile,
    keyFile,
    encryptedKeyFile,
    cert: fs.readFileSync(certFile, 'utf8'),
    key: fs.readFileSync(keyFile, 'utf8'),
  };
}
