// Every error @skitai/http2 raises, by code. A code is stable public surface: match on `err.code`.
import { SkitaiError } from '@skitai/kernel';

function define<A extends unknown[]>(code: string, format: (...args: A) => string) {
  const make = (...args: A) => new SkitaiError(code, `@skitai/http2: ${format(...args)}`);
  return Object.assign(make, { code });
}

export const codes = {
  SKT_HTTP2_OPTION: define('SKT_HTTP2_OPTION', (name: string, value: unknown, expected: string) =>
    `invalid option ${name}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)} (expected ${expected})`),
  SKT_HTTP2_TLS: define('SKT_HTTP2_TLS', (what: string, why: string) => `cannot use the TLS ${what}: ${why}`),
  SKT_HTTP2_FORWARD: define('SKT_HTTP2_FORWARD', (address: string, why: string) =>
    `cannot listen for the HTTPS redirect on ${address}: ${why}`),
};
