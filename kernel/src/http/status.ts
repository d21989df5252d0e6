import { STATUS_CODES } from 'node:http';

export function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}
