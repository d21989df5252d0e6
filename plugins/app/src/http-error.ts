// An error a handler (or the framework) throws to answer with a status instead of 500.

import { STATUS_CODES } from 'node:http';
export class HttpError extends Error {
  readonly status: number;
  readonly statusCode: number;
  /** Longer text for the error page. */
  readonly detail: string | undefined;
  /** Extra headers (Allow, WWW-Authenticate ...). */
  readonly headers: Record<string, string> | undefined;
  /** Close the connection after answering (413: the body was not read). */
  readonly close: boolean;
  constructor(
    status: number,
    message?: string,
    options: { detail?: string; headers?: Record<string, string>; close?: boolean; cause?: unknown } = {},
  ) {
    super(message ?? STATUS_CODES[status] ?? String(status), { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.statusCode = status;
    this.detail = options.detail;
    this.headers = options.headers;
    this.close = options.close ?? false;
  }
}

/** The status an error should be answered with: its own 4xx/5xx, else 500. */
export function statusOf(err: unknown): number {
  const s =
    (err as { status?: unknown; statusCode?: unknown } | null)?.statusCode ??
    (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' && s >= 400 && s <= 599 ? s : 500;
}
