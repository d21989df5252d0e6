// The proxy's own keep-alive connections: one node:http(s) Agent per member, kept by the
// gateway (not the services' call pools, whose transport is theirs to change). An Agent pipes
// with back-pressure and reuses sockets; idle ones close after the backend keep-alive.
import http from 'node:http';
import https from 'node:https';
import type { Member } from '@skitai/services';

export class MemberAgents {
  private readonly agents = new Map<Member, http.Agent>();

  constructor(private readonly idleMs: number) {}

  get(member: Member): http.Agent {
    let agent = this.agents.get(member);
    if (agent === undefined) {
      const { maxConnections, tls } = member.alias.options as { maxConnections?: number; tls?: https.AgentOptions };
      const options: http.AgentOptions = {
        keepAlive: true,
        maxSockets: maxConnections ?? Infinity,
        maxFreeSockets: 256,
        // An idle pooled socket is closed after this; node's Agent applies it to free sockets.
        timeout: this.idleMs,
        scheduling: 'lifo',
      };
      agent = member.ssl ? new https.Agent({ ...(tls ?? {}), ...options }) : new http.Agent(options);
      this.agents.set(member, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
