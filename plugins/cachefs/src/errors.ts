// The cachefs plugin's error codes, beside the kernel's. Stable: match on `err.code`, never on the text.
import { codes as kernelCodes, defineError } from '@skitai/kernel';

export const codes = {
  ...kernelCodes,
  SKT_CACHEFS_OPTION: defineError(
    'SKT_CACHEFS_OPTION',
    (option: string, value: unknown, why: string) =>
      `cachefs option ${option}: bad value ${JSON.stringify(value)}: ${why}`,
  ),
} as const;
