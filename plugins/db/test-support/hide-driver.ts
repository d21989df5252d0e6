// A module resolve hook (node:module register) that makes the package named in HIDE_DRIVER
// unresolvable, as when it is not installed: for the test of a missing driver, in a child process.
type Next = (specifier: string, context: unknown) => unknown;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<unknown> {
  if (specifier === process.env.HIDE_DRIVER) {
    throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}
