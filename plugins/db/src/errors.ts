// The db plugin's error codes. Stable: match on `err.code`, never on the text.
import { defineError } from '@skitai/kernel';
import { servicesCodes } from '@skitai/services';

export const codes = {
  ...servicesCodes,
  SKT_DB_DRIVER: defineError(
    'SKT_DB_DRIVER',
    (alias: string, type: string, pkg: string, why: string) =>
      `alias ${alias} (${type}) needs the driver package "${pkg}", which cannot be loaded: ${why} (npm install ${pkg})`,
  ),
  SKT_DB_QUERY: defineError('SKT_DB_QUERY', (target: string, why: string) => `${target}: ${why}`, 502),
  SKT_DB_TARGET: defineError(
    'SKT_DB_TARGET',
    (target: unknown, why: string) => `bad database target ${JSON.stringify(target)}: ${why}`,
  ),
  SKT_DB_OPERATION: defineError(
    'SKT_DB_OPERATION',
    (type: string, op: string, why: string) => `${type} has no ${op}: ${why}`,
  ),
  SKT_DB_ARGUMENT: defineError(
    'SKT_DB_ARGUMENT',
    (op: string, what: string, value: unknown) =>
      `${op}: ${what}, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
  ),
  SKT_DB_TRANSACTION: defineError(
    'SKT_DB_TRANSACTION',
    (target: string, why: string) => `transaction on ${target}: ${why}`,
  ),
  SKT_DB_ROWS: defineError(
    'SKT_DB_ROWS',
    (target: string, n: number) => `${target}: one() wants exactly one row, the query gave ${n}`,
  ),
  SKT_DB_CLOSED: defineError(
    'SKT_DB_CLOSED',
    (target: string) => `${target}: the pool is closed (the server is stopping)`,
    503,
  ),
} as const;
