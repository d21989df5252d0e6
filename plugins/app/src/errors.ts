// The App framework's error codes, with the kernel's own (SKT_INVALID_OPTION ...) beside them.
// Stable: match on `err.code`, never on the text.
import { codes as kernelCodes, defineError } from '@skitai/kernel';

export const codes = {
  ...kernelCodes,
  SKT_APP_NO_ROUTE: defineError('SKT_APP_NO_ROUTE', (name: string) => `no route is named ${JSON.stringify(name)} (was.ab)`),
  SKT_APP_NO_HANDLER: defineError('SKT_APP_NO_HANDLER', (helper: string, setter: string) => `${helper} needs a handler: call ${setter}(fn) first`),
  SKT_APP_NO_USERS: defineError('SKT_APP_NO_USERS', () => 'authentication is required but app.users is not set'),
  SKT_APP_DECORATE: defineError('SKT_APP_DECORATE', (module: string) => `${module} exports no decorate(app) function`),
  SKT_APP_NO_SECUREKEY: defineError('SKT_APP_NO_SECUREKEY', (what: string) => `${what} needs a secure key: set app.securekey (or give one to mount())`),

  // was backend services (issue 5): add codes below this line
} as const;
