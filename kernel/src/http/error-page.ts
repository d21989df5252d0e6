import type { IncomingMessage, ServerResponse } from 'node:http';
import { reason } from './status.js';
import { sendBody } from './compress.js';

/** True when the client asks for JSON before HTML (fetch with Accept: application/json, API clients). */
export function prefersJson(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  const json = accept.indexOf('json');
  if (json === -1) return false;
  const html = accept.indexOf('text/html');
  return html === -1 || json < html;
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c]!);
}

export interface ErrorDetail {
  /** Longer text: shown in the page; a traceback only in debug mode. */
  detail?: string;
  /** Extra headers, e.g. Allow for 405 or Location. */
  headers?: Record<string, string | number>;
  /** Close the connection after this response (413, framing errors). */
  close?: boolean;
}

/**
 * Answers with an error page: JSON `{code, message}` when the client prefers JSON,
 * otherwise a small HTML page. Never throws; does nothing if the head is already out.
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message?: string,
  extra: ErrorDetail = {},
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const title = reason(status);
  const text = message ?? title;
  let body: string;
  let type: string;
  if (prefersJson(req)) {
    const payload: Record<string, unknown> = { code: status, message: text };
    if (extra.detail) payload.detail = extra.detail;
    body = JSON.stringify(payload);
    type = 'application/json; charset=utf-8';
  } else {
    body =
      `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${status} ${escapeHtml(title)}</title></head>` +
      `<body><h1>${status} ${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>` +
      (extra.detail ? `<pre>${escapeHtml(extra.detail)}</pre>` : '') +
      `<hr><address>Skitai</address></body></html>\n`;
    type = 'text/html; charset=utf-8';
  }
  const headers: Record<string, string | number> = {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    ...extra.headers,
  };
  if (extra.close) {
    // HTTP/2 has no Connection header (node drops it with a warning): the caller ends the stream.
    if (req.httpVersionMajor < 2) headers.Connection = 'close';
    res.shouldKeepAlive = false;
  }
  sendBody(req, res, status, headers, body);
}
