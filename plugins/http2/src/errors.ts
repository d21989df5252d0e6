// Every error @skitai/http2 raises, by code. A code is stable public surface: match on `err.code`.
import { defineError } from '@skitai/kernel';

export const codes = {
  SKT_HTTP2_OPTION: defineError(
    'SKT_HTTP2_OPTION',
    (name: string, value: unknown, expected: string) =>
      `@skitai/http2: invalid option ${name}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)} (expected ${expected})`,
  ),
  SKT_HTTP2_TLS: defineError(
    'SKT_HTTP2_TLS',
    (what: string, why: string) => `@skitai/http2: cannot use the TLS ${what}: ${why}`,
  ),
  SKT_HTTP2_FORWARD: defineError(
    'SKT_HTTP2_FORWARD',
    (address: string, why: string) => `@skitai/http2: cannot listen for the HTTPS redirect on ${address}: ${why}`,
  ),
};
