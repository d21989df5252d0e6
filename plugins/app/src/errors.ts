// The App framework's error codes, with the kernel's own (SKT_INVALID_OPTION ...) beside them.
// Stable: match on `err.code`, never on the text.
import { codes as kernelCodes, defineError } from '@skitai/kernel';

export const codes = {
  ...kernelCodes,
  SKT_APP_NO_ROUTE: defineError(
    'SKT_APP_NO_ROUTE',
    (name: string, known: readonly string[]) =>
      `was.ab(${JSON.stringify(name)}): no route of this app has that name. ` +
      (known.length
        ? `Its routes are named ${known.map((n) => JSON.stringify(n)).join(', ')}. `
        : 'It has no routes yet. ') +
      "A route is named by its rule, by its handler function's name, or by app.route(rule, { name: '...' }, handler).",
  ),
  SKT_APP_NO_HANDLER: defineError(
    'SKT_APP_NO_HANDLER',
    (helper: string, setter: string) => `${helper} needs a handler: call ${setter}(fn) first`,
  ),
  SKT_APP_NO_USERS: defineError('SKT_APP_NO_USERS', () => 'authentication is required but app.users is not set'),
  SKT_APP_DECORATE: defineError('SKT_APP_DECORATE', (module: string) => `${module} exports no decorate(app) function`),
  SKT_APP_NO_SECUREKEY: defineError(
    'SKT_APP_NO_SECUREKEY',
    (what: string) => `${what} needs a secure key: set app.securekey (or give one to mount())`,
  ),
} as const;
