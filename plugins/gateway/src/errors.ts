// The gateway's error codes, beside the kernel's. Stable: match on `err.code`, never on the text.
import { codes as kernelCodes, defineError } from '@skitai/kernel';

export const codes = {
  ...kernelCodes,
  SKT_GATEWAY_OPTION: defineError(
    'SKT_GATEWAY_OPTION',
    (option: string, value: unknown, why: string) =>
      `gateway option ${option}: bad value ${JSON.stringify(value)}: ${why}`,
  ),
  SKT_GATEWAY_ALIAS: defineError(
    'SKT_GATEWAY_ALIAS',
    (point: string, alias: string, why: string) => `mount ${point} -> ${alias}: ${why}`,
  ),
} as const;
