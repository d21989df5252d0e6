// The backend services' error codes, with the kernel's own (SKT_INVALID_OPTION, SKT_ALIAS_* ...)
// beside them. Stable: match on `err.code`, never on the text.
import { codes as kernelCodes, defineError } from '@skitai/kernel';
import { xmlrpcCodes } from '@skitai/xmlrpc';

export const codes = {
  ...kernelCodes,
  ...xmlrpcCodes,
  SKT_ALIAS_MEMBER: defineError(
    'SKT_ALIAS_MEMBER',
    (name: string, text: unknown, why: string) =>
      `alias ${name}: bad member ${JSON.stringify(text)}: ${why} (write "user:password@host:port/db weight")`,
  ),
  SKT_ALIAS_OPTION: defineError(
    'SKT_ALIAS_OPTION',
    (name: string, option: string, value: unknown, why: string) =>
      `alias ${name}: bad ${option} ${JSON.stringify(value)}: ${why}`,
  ),
  SKT_ALIAS_WRONG_TYPE: defineError(
    'SKT_ALIAS_WRONG_TYPE',
    (name: string, type: string, wanted: string) => `alias ${name} is of type ${type}, not ${wanted}`,
  ),
  SKT_BACKEND_URL: defineError(
    'SKT_BACKEND_URL',
    (url: unknown, why: string) => `bad backend URL ${JSON.stringify(url)}: ${why}`,
  ),
  SKT_BACKEND_UNAVAILABLE: defineError(
    'SKT_BACKEND_UNAVAILABLE',
    (name: string, why: string) => `no member of ${name} is available: ${why}`,
    502,
  ),
  SKT_BACKEND_REQUEST: defineError(
    'SKT_BACKEND_REQUEST',
    (target: string, why: string) => `cannot send the request to ${target}: ${why}`,
  ),
  SKT_BACKEND_CONNECTION: defineError(
    'SKT_BACKEND_CONNECTION',
    (target: string, why: string) => `cannot reach ${target}: ${why}`,
    502,
  ),
  SKT_BACKEND_TIMEOUT: defineError(
    'SKT_BACKEND_TIMEOUT',
    (target: string, ms: number) => `${target} did not answer within ${ms} ms`,
    504,
  ),
  SKT_BACKEND_STATUS: defineError(
    'SKT_BACKEND_STATUS',
    (target: string, status: number, reason: string) => `${target} answered ${status} ${reason}`,
    502,
  ),
  SKT_BACKEND_RESPONSE: defineError(
    'SKT_BACKEND_RESPONSE',
    (target: string, why: string) => `bad response from ${target}: ${why}`,
    502,
  ),
  SKT_BACKEND_REDIRECTS: defineError(
    'SKT_BACKEND_REDIRECTS',
    (target: string, max: number) => `${target}: more than ${max} redirects`,
    502,
  ),
  SKT_WAS_CONTEXT: defineError(
    'SKT_WAS_CONTEXT',
    (member: string) =>
      `was.${member} was used outside a request: the imported \`was\` is bound only while a mounted handler runs ` +
      `(call enableWasContext(kernel) or kernel.alias(...) before start)`,
  ),
} as const;
