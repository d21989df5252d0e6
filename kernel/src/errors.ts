// Every error the kernel raises, by code, in one place (as fastify's lib/errors.js).
// A code is stable public surface: tests and users match on `err.code`, never on text.

export class SkitaiError extends Error {
  readonly code: string;
  readonly statusCode: number | undefined;
  constructor(code: string, message: string, statusCode?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SkitaiError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

type Format = (...args: any[]) => string;

export interface ErrorFactory<F extends Format> {
  (...args: Parameters<F>): SkitaiError;
  readonly code: string;
}

function define<F extends Format>(code: string, format: F, statusCode?: number): ErrorFactory<F> {
  const make = ((...args: Parameters<F>) => new SkitaiError(code, format(...args), statusCode)) as ErrorFactory<F>;
  Object.defineProperty(make, 'code', { value: code });
  return make;
}

export const codes = {
  // plugin contract
  SKT_PLUGIN_INVALID: define('SKT_PLUGIN_INVALID', (what: string) => `invalid plugin: ${what}`),
  SKT_PLUGIN_DUPLICATE: define('SKT_PLUGIN_DUPLICATE', (name: string, first: string, second: string) =>
    `plugin ${name} is used twice: ${first} and ${second}`),
  SKT_PLUGIN_MISSING_DEPENDENCY: define('SKT_PLUGIN_MISSING_DEPENDENCY', (plugin: string, dependency: string) =>
    `plugin ${plugin} depends on ${dependency}, which is not used: add kernel.use(${dependency}) before start`),
  SKT_PLUGIN_KERNEL_RANGE: define('SKT_PLUGIN_KERNEL_RANGE', (plugin: string, range: string, kernel: string) =>
    `plugin ${plugin} supports @skitai/kernel ${range}, but this kernel is ${kernel}`),
  SKT_PLUGIN_DEPENDENCY_CYCLE: define('SKT_PLUGIN_DEPENDENCY_CYCLE', (chain: string) =>
    `plugins depend on each other in a cycle: ${chain}`),
  SKT_WAS_EXTENSION_DUPLICATE: define('SKT_WAS_EXTENSION_DUPLICATE', (name: string, first: string, second: string) =>
    `was.${name} is defined twice: by ${first} and by ${second}`),

  // lifecycle
  SKT_KERNEL_PHASE: define('SKT_KERNEL_PHASE', (action: string, phase: string) =>
    `cannot ${action} while the kernel is ${phase}`),
  SKT_LISTEN_FAILED: define('SKT_LISTEN_FAILED', (address: string, reason: string) =>
    `cannot listen on ${address}: ${reason}`),

  // settings and mounts
  SKT_INVALID_OPTION: define('SKT_INVALID_OPTION', (name: string, value: unknown, expected: string) =>
    `invalid ${name}: ${JSON.stringify(value)} (expected ${expected})`),
  SKT_MOUNT_POINT: define('SKT_MOUNT_POINT', (point: string) =>
    `invalid mount point ${JSON.stringify(point)}: it must start with "/"`),
  SKT_MOUNT_DUPLICATE: define('SKT_MOUNT_DUPLICATE', (point: string, host: string) =>
    `${point} is mounted twice${host ? ` for host ${host}` : ''}`),
  SKT_MOUNT_TARGET: define('SKT_MOUNT_TARGET', (point: string, why: string) =>
    `cannot mount ${point}: ${why}`),

  // requests (answered, never thrown to the user's code)
  SKT_BAD_REQUEST: define('SKT_BAD_REQUEST', (why: string) => why, 400),
  SKT_NOT_FOUND: define('SKT_NOT_FOUND', (path: string) => `${path} was not found on this server`, 404),
  SKT_BODY_TOO_LARGE: define('SKT_BODY_TOO_LARGE', (limit: number) =>
    `the request body is larger than ${limit} bytes`, 413),
  SKT_HANDLER_FAILED: define('SKT_HANDLER_FAILED', (why: string) => why, 500),

  // App framework (issue 3): add codes below this line
  SKT_APP_NO_ROUTE: define('SKT_APP_NO_ROUTE', (name: string) => `no route is named ${JSON.stringify(name)} (was.ab)`),
  SKT_APP_NO_HANDLER: define('SKT_APP_NO_HANDLER', (helper: string, setter: string) => `${helper} needs a handler: call ${setter}(fn) first`),
  SKT_APP_NO_USERS: define('SKT_APP_NO_USERS', () => 'authentication is required but app.users is not set'),
  SKT_APP_DECORATE: define('SKT_APP_DECORATE', (module: string) => `${module} exports no decorate(app) function`),
  SKT_APP_NO_SECUREKEY: define('SKT_APP_NO_SECUREKEY', (what: string) => `${what} needs a secure key: set app.securekey (or give one to mount())`),

  // was backend services (issue 5): add codes below this line
  SKT_ALIAS_NAME: define('SKT_ALIAS_NAME', (name: unknown) =>
    `invalid alias name ${JSON.stringify(name)}: write it "@name" (letters, digits, "_", "-", ".")`),
  SKT_ALIAS_DUPLICATE: define('SKT_ALIAS_DUPLICATE', (name: string) => `alias ${name} is defined twice`),
  SKT_ALIAS_TYPE: define('SKT_ALIAS_TYPE', (name: string, type: unknown, known: string) =>
    `alias ${name}: unknown type ${JSON.stringify(type)} (known: ${known}; a plugin may register more)`),
  SKT_ALIAS_TYPE_DUPLICATE: define('SKT_ALIAS_TYPE_DUPLICATE', (type: string) => `alias type ${type} is registered twice`),
  SKT_ALIAS_MEMBER: define('SKT_ALIAS_MEMBER', (name: string, text: unknown, why: string) =>
    `alias ${name}: bad member ${JSON.stringify(text)}: ${why} (write "user:password@host:port/db weight")`),
  SKT_ALIAS_OPTION: define('SKT_ALIAS_OPTION', (name: string, option: string, value: unknown, why: string) =>
    `alias ${name}: bad ${option} ${JSON.stringify(value)}: ${why}`),
  SKT_ALIAS_UNKNOWN: define('SKT_ALIAS_UNKNOWN', (name: string) => `alias ${name} is not defined: call kernel.alias('${name}', ...) first`),
  SKT_ALIAS_WRONG_TYPE: define('SKT_ALIAS_WRONG_TYPE', (name: string, type: string, wanted: string) =>
    `alias ${name} is of type ${type}, not ${wanted}`),
  SKT_BACKEND_URL: define('SKT_BACKEND_URL', (url: unknown, why: string) => `bad backend URL ${JSON.stringify(url)}: ${why}`),
  SKT_BACKEND_UNAVAILABLE: define('SKT_BACKEND_UNAVAILABLE', (name: string, why: string) =>
    `no member of ${name} is available: ${why}`, 502),
  SKT_BACKEND_CONNECTION: define('SKT_BACKEND_CONNECTION', (target: string, why: string) =>
    `cannot reach ${target}: ${why}`, 502),
  SKT_BACKEND_TIMEOUT: define('SKT_BACKEND_TIMEOUT', (target: string, ms: number) =>
    `${target} did not answer within ${ms} ms`, 504),
  SKT_BACKEND_STATUS: define('SKT_BACKEND_STATUS', (target: string, status: number, reason: string) =>
    `${target} answered ${status} ${reason}`, 502),
  SKT_BACKEND_RESPONSE: define('SKT_BACKEND_RESPONSE', (target: string, why: string) =>
    `bad response from ${target}: ${why}`, 502),
  SKT_BACKEND_REDIRECTS: define('SKT_BACKEND_REDIRECTS', (target: string, max: number) =>
    `${target}: more than ${max} redirects`, 502),
  SKT_RPC_FAULT: define('SKT_RPC_FAULT', (code: unknown, message: string) => `RPC fault ${String(code)}: ${message}`, 502),
  SKT_XMLRPC_PARSE: define('SKT_XMLRPC_PARSE', (why: string) => `malformed XML-RPC: ${why}`, 400),
  SKT_XMLRPC_VALUE: define('SKT_XMLRPC_VALUE', (why: string) => `cannot encode as XML-RPC: ${why}`),
  SKT_WAS_CONTEXT: define('SKT_WAS_CONTEXT', (member: string) =>
    `was.${member} was used outside a request: the imported \`was\` is bound only while a mounted handler runs ` +
    `(call enableWasContext(kernel) or kernel.alias(...) before start)`),
  SKT_LU_KEY: define('SKT_LU_KEY', (key: unknown, why: string) => `last-updated key ${JSON.stringify(key)}: ${why}`),

  // process model (issue 4): add codes below this line
  SKT_PROCESS_DUPLICATE: define('SKT_PROCESS_DUPLICATE', (name: string) =>
    `background process ${name} is registered twice`),
} as const;

export type ErrorCode = keyof typeof codes;
