// The codec's error codes. Stable: match on `err.code`, never on the text.
import { defineError } from '@skitai/kernel';

export const codes = {
  SKT_RPC_FAULT: defineError(
    'SKT_RPC_FAULT',
    (code: unknown, message: string) => `RPC fault ${String(code)}: ${message}`,
    502,
  ),
  SKT_XMLRPC_PARSE: defineError('SKT_XMLRPC_PARSE', (why: string) => `malformed XML-RPC: ${why}`, 400),
  SKT_XMLRPC_VALUE: defineError('SKT_XMLRPC_VALUE', (why: string) => `cannot encode as XML-RPC: ${why}`),
} as const;
