// The gateway's error codes, beside the kernel's. Stable: match on `err.code`, never on the text.
import { codes as kernelCodes, defineError } from '@skitai/kernel';

export const codes = {
  ...kernelCodes,
  SKT_GATEWAY_OPTION: defineError('SKT_GATEWAY_OPTION', (option: string, value: unknown, why: string) =>
    `gateway option ${option}: bad value ${JSON.stringify(value)}: ${why}`),
  SKT_GATEWAY_ALIAS: defineError('SKT_GATEWAY_ALIAS', (point: string, alias: string, why: string) =>
    `mount ${point} -> ${alias}: ${why}`),
  SKT_GATEWAY_NO_MEMBER: defineError('SKT_GATEWAY_NO_MEMBER', (alias: string, why: string) =>
    `no member of ${alias} answered: ${why}`, 502),
  SKT_GATEWAY_TIMEOUT: defineError('SKT_GATEWAY_TIMEOUT', (alias: string, ms: number) =>
    `${alias} did not answer within ${ms} ms`, 504),
} as const;
