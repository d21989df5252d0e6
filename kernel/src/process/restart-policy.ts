/**
 * When to restart something that died: an exponential backoff, and at most `limit` restarts
 * within `period`; past the limit the next restart waits until the oldest death leaves the
 * window. Nothing is ever restarted in a tight loop.
 */
export interface RestartPolicyOptions {
  /** First delay, ms (default 250). */
  baseDelay?: number;
  /** Largest delay, ms (default 10 000). */
  maxDelay?: number;
  /** Restarts allowed within `period` (default 5). */
  limit?: number;
  /** The window, ms (default 60 000). */
  period?: number;
}

export class RestartPolicy {
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly limit: number;
  readonly period: number;
  private deaths: number[] = [];

  constructor(options: RestartPolicyOptions = {}) {
    this.baseDelay = options.baseDelay ?? 250;
    this.maxDelay = options.maxDelay ?? 10_000;
    this.limit = options.limit ?? 5;
    this.period = options.period ?? 60_000;
  }

  /** Records a death; returns the delay before the restart and whether the limit was hit. */
  died(now = Date.now()): { delay: number; limited: boolean; recent: number } {
    this.deaths = this.deaths.filter((t) => now - t < this.period);
    this.deaths.push(now);
    const recent = this.deaths.length;
    let delay = Math.min(this.maxDelay, this.baseDelay * 2 ** (recent - 1));
    let limited = false;
    if (recent > this.limit) {
      // Wait until the oldest death counted leaves the window.
      const oldest = this.deaths[this.deaths.length - 1 - this.limit]!;
      delay = Math.max(delay, oldest + this.period - now);
      limited = true;
    }
    return { delay, limited, recent };
  }

  reset(): void {
    this.deaths = [];
  }
}
