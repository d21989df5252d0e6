// The proxy's own keep-alive connections: one undici Pool per member, kept by the gateway (not
// the services' call pools, whose transport is theirs to change). undici's dispatch() hands
// the answer over chunk by chunk with a pause/resume pair, which is all streaming with
// back-pressure needs, at about half the CPU per request of a node:http client request
// (bench --instructions proxy). Idle connections close after the member's keep-alive hint,
// at most after the kernel's backend keep-alive.
import { Agent, Pool, type Dispatcher } from 'undici';
import type { Member } from '@skitai/services';

export class MemberPools {
  private readonly pools = new Map<Member, { pool: Pool; origin: string }>();

  constructor(private readonly idleMs: number) {}

  get(member: Member): { pool: Dispatcher; origin: string } {
    let entry = this.pools.get(member);
    if (entry === undefined) {
      const { maxConnections, tls } = member.alias.options as {
        maxConnections?: number;
        tls?: Record<string, unknown>;
      };
      const origin = `${member.ssl ? 'https' : 'http'}://${member.hostPort}`;
      const pool = new Pool(origin, {
        connections: maxConnections ?? null,
        pipelining: 1,
        keepAliveTimeout: Math.min(4000, this.idleMs),
        keepAliveMaxTimeout: this.idleMs,
        // The gateway times the head itself (504) and a silent body (cut after the same time).
        headersTimeout: 0,
        connect: tls ?? undefined,
      });
      entry = { pool, origin };
      this.pools.set(member, entry);
    }
    return entry;
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(all.map((e) => e.pool.destroy()));
  }
}

/** For the forward proxy: one undici Agent (a pool per origin), idle connections closed after `idleMs`. */
export function forwardAgent(idleMs: number): Agent {
  return new Agent({ keepAliveTimeout: idleMs, keepAliveMaxTimeout: idleMs, headersTimeout: 0, pipelining: 1 });
}
