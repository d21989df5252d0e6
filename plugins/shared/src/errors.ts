// Every error code of @skitai/shared.
import { defineError } from '@skitai/kernel';

export const codes = {
  SKT_SHARED_OPTION: defineError(
    'SKT_SHARED_OPTION',
    (name: string, value: unknown, expected: string) =>
      `@skitai/shared option ${name}: ${JSON.stringify(value)} (expected ${expected})`,
  ),
} as const;
