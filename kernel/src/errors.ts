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

/**
 * An error factory with a stable code: `defineError('SKT_X', (what: string) => `...${what}`, 400)`.
 * Plugins define their own codes with it, in one errors module each.
 */
export function defineError<F extends Format>(code: string, format: F, statusCode?: number): ErrorFactory<F> {
  const make = ((...args: Parameters<F>) => new SkitaiError(code, format(...args), statusCode)) as ErrorFactory<F>;
  Object.defineProperty(make, 'code', { value: code });
  return make;
}

export const codes = {
  // plugin contract and was members
  SKT_PLUGIN_INVALID: defineError('SKT_PLUGIN_INVALID', (what: string) => `invalid plugin: ${what}`),
  SKT_PLUGIN_DUPLICATE: defineError(
    'SKT_PLUGIN_DUPLICATE',
    (name: string, first: string, second: string) => `plugin ${name} is used twice: ${first} and ${second}`,
  ),
  SKT_PLUGIN_MISSING_DEPENDENCY: defineError(
    'SKT_PLUGIN_MISSING_DEPENDENCY',
    (plugin: string, dependency: string) =>
      `plugin ${plugin} depends on ${dependency}, which is not used: add kernel.use(${dependency}) before start`,
  ),
  SKT_PLUGIN_KERNEL_RANGE: defineError(
    'SKT_PLUGIN_KERNEL_RANGE',
    (plugin: string, range: string, kernel: string) =>
      `plugin ${plugin} supports @skitai/kernel ${range}, but this kernel is ${kernel}`,
  ),
  SKT_PLUGIN_DEPENDENCY_CYCLE: defineError(
    'SKT_PLUGIN_DEPENDENCY_CYCLE',
    (chain: string) => `plugins depend on each other in a cycle: ${chain}`,
  ),
  SKT_WAS_EXTENSION_DUPLICATE: defineError(
    'SKT_WAS_EXTENSION_DUPLICATE',
    (name: string, first: string, second: string) => `was.${name} is defined twice: by ${first} and by ${second}`,
  ),

  // lifecycle
  SKT_KERNEL_PHASE: defineError(
    'SKT_KERNEL_PHASE',
    (action: string, phase: string) => `cannot ${action} while the kernel is ${phase}`,
  ),
  SKT_LISTEN_FAILED: defineError(
    'SKT_LISTEN_FAILED',
    (address: string, reason: string) => `cannot listen on ${address}: ${reason}`,
  ),
  SKT_TRANSPORT_DUPLICATE: defineError(
    'SKT_TRANSPORT_DUPLICATE',
    (first: string, second: string) =>
      `the listening socket has one transport: ${first} set it, ${second} asked for it too`,
  ),

  // settings and mounts
  SKT_INVALID_OPTION: defineError(
    'SKT_INVALID_OPTION',
    (name: string, value: unknown, expected: string) =>
      `invalid ${name}: ${JSON.stringify(value)} (expected ${expected})`,
  ),
  SKT_MOUNT_POINT: defineError(
    'SKT_MOUNT_POINT',
    (point: string) => `invalid mount point ${JSON.stringify(point)}: it must start with "/"`,
  ),
  SKT_MOUNT_DUPLICATE: defineError(
    'SKT_MOUNT_DUPLICATE',
    (point: string, host: string) => `${point} is mounted twice${host ? ` for host ${host}` : ''}`,
  ),
  SKT_MOUNT_TARGET: defineError('SKT_MOUNT_TARGET', (point: string, why: string) => `cannot mount ${point}: ${why}`),

  // requests (answered, never thrown to the user's code)
  SKT_BAD_REQUEST: defineError('SKT_BAD_REQUEST', (why: string) => why, 400),
  SKT_NOT_FOUND: defineError('SKT_NOT_FOUND', (path: string) => `${path} was not found on this server`, 404),
  SKT_BODY_TOO_LARGE: defineError(
    'SKT_BODY_TOO_LARGE',
    (limit: number) => `the request body is larger than ${limit} bytes`,
    413,
  ),
  SKT_HANDLER_FAILED: defineError('SKT_HANDLER_FAILED', (why: string) => why, 500),

  // aliases (the registry; their types and members belong to the plugins that register them)
  SKT_ALIAS_NAME: defineError(
    'SKT_ALIAS_NAME',
    (name: unknown) => `invalid alias name ${JSON.stringify(name)}: write it "@name" (letters, digits, "_", "-", ".")`,
  ),
  SKT_ALIAS_DUPLICATE: defineError('SKT_ALIAS_DUPLICATE', (name: string) => `alias ${name} is defined twice`),
  SKT_ALIAS_TYPE: defineError(
    'SKT_ALIAS_TYPE',
    (name: string, type: unknown, hint: string) =>
      `alias ${name}: no plugin in use registers the type ${JSON.stringify(type)}: ${hint}`,
  ),
  SKT_ALIAS_TYPE_DUPLICATE: defineError(
    'SKT_ALIAS_TYPE_DUPLICATE',
    (type: string, first: string, second: string) =>
      `alias type ${type} is registered twice: by ${first} and by ${second}`,
  ),
  SKT_ALIAS_MEMBERS: defineError(
    'SKT_ALIAS_MEMBERS',
    (name: string, members: unknown) =>
      `alias ${name}: members are a string or a non-empty list of strings, not ${JSON.stringify(members)}`,
  ),
  SKT_ALIAS_UNKNOWN: defineError(
    'SKT_ALIAS_UNKNOWN',
    (name: string) => `alias ${name} is not defined: call kernel.alias('${name}', ...) first`,
  ),

  // process model
  SKT_LU_KEY: defineError(
    'SKT_LU_KEY',
    (key: unknown, why: string) => `last-updated key ${JSON.stringify(key)}: ${why}`,
  ),
  SKT_BRIDGE_DUPLICATE: defineError(
    'SKT_BRIDGE_DUPLICATE',
    (first: string, second: string) => `a kernel has one instance bridge: ${first} set it, ${second} asked for it too`,
  ),
  SKT_PROCESS_DUPLICATE: defineError(
    'SKT_PROCESS_DUPLICATE',
    (name: string) => `background process ${name} is registered twice`,
  ),
} as const;

export type ErrorCode = keyof typeof codes;
