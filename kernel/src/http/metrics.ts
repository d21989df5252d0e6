import { clockMs } from './clock.js';
import type { SkitaiRequest } from './request.js';
import type { SkitaiResponse } from './response.js';

/** Upper bounds (seconds) of the latency histogram's buckets, Prometheus's default set. */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** A copy of the request counters, for the status page (plain data: it crosses processes). */
export interface RequestMetricsSnapshot {
  /** Requests that reached the dispatcher. */
  received: number;
  /** Responses by status code, e.g. { '200': 12, '404': 1 } (only codes seen). */
  codes: Record<string, number>;
  /** Latency (request in to response head out), seconds: cumulative counts per `le` bound. */
  latency: { buckets: Array<[le: number, count: number]>; count: number; sum: number };
}

/**
 * Request counters kept by the kernel once a plugin calls `kernel.enableMetrics()`: responses
 * by status code and a latency histogram. Typed arrays indexed by status code and bucket, so
 * counting a response allocates nothing.
 */
export class RequestMetrics {
  received = 0;
  private readonly codes = new Float64Array(600);
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  private readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  private count = 0;
  private sum = 0;

  /** Counts one response head: its status code and the seconds since the request came in. */
  observe(status: number, seconds: number): void {
    this.codes[status >= 100 && status < 600 ? status : 0]++;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.buckets[i]++;
    this.count++;
    this.sum += seconds;
  }

  snapshot(): RequestMetricsSnapshot {
    const codes: Record<string, number> = {};
    for (let c = 0; c < 600; c++) if (this.codes[c]! > 0) codes[c === 0 ? 'other' : String(c)] = this.codes[c]!;
    const buckets: Array<[number, number]> = [];
    let running = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) buckets.push([LATENCY_BUCKETS[i]!, (running += this.buckets[i]!)]);
    return { received: this.received, codes, latency: { buckets, count: this.count, sum: this.sum } };
  }
}

type Tracked = SkitaiResponse & { skitaiMetrics?: RequestMetrics };

/**
 * Stamps `headAt` (which the request log reads: this stands in for the log's own writeHead)
 * when the head is about to go out; returns the time when this is the response's first head,
 * to give countHead() once node has taken it, or -1.
 */
export function stampHead(res: SkitaiResponse): number {
  if (res.headAt !== undefined) return -1;
  const now = clockMs();
  res.headAt = now;
  return res.headersSent ? -1 : now;
}

/** Counts a response's head: its status code and the seconds since its request came in. */
export function countHead(res: SkitaiResponse, statusCode: number, at: number): void {
  (res as Tracked).skitaiMetrics?.observe(statusCode, (at - res.req.startedAt) / 1000);
}

/**
 * Installed per response only while metrics are on: counts the response when its head goes
 * out (node's implicit head goes through writeHead too). An own property, so it survives
 * frameworks that swap the response's prototype (Express does). writeReadyHead() knows it and
 * counts a ready head itself, keeping node's list path.
 */
export function writeHeadCounted(this: Tracked, statusCode: number, reason?: any, headers?: any): SkitaiResponse {
  const at = stampHead(this);
  const ret = Object.getPrototypeOf(this).writeHead.call(this, statusCode, reason, headers);
  if (at >= 0) countHead(this, statusCode, at);
  return ret;
}

/** The dispatcher's per-request step while metrics are on (no closure, no allocation). */
export function trackRequest(metrics: RequestMetrics, req: SkitaiRequest, res: SkitaiResponse): void {
  metrics.received++;
  // (an HTTP/2 request of a transport plugin may not have the field at all)
  if (!(req.startedAt > 0)) req.startedAt = clockMs();
  (res as Tracked).skitaiMetrics = metrics;
  res.writeHead = writeHeadCounted as SkitaiResponse['writeHead'];
}
