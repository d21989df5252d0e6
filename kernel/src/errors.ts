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

  // was backend services (issue 5): add codes below this line

  // process model (issue 4): add codes below this line
} as const;

export type ErrorCode = keyof typeof codes;
