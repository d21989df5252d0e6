// Every error code of @skitai/status.
import { defineError } from '@skitai/kernel';

export const codes = {
  SKT_STATUS_OPTION: defineError(
    'SKT_STATUS_OPTION',
    (name: string, value: unknown, expected: string) =>
      `statusPage: ${name} must be ${expected}, got ${JSON.stringify(value)}`,
  ),
};
