// Aiming a request at one worker: a keep-alive connection stays with the worker that accepted it.
import http from 'node:http';
import { get, type Reply } from './process-helpers.js';

/** Opens keep-alive connections until one reaches worker `id`; returns its agent (one socket). */
export async function agentOn(port: number, id: string, ms = 15_000): Promise<http.Agent> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const probe = await get(port, '/id', { agent });
    if (probe.json.id === id) return agent;
    agent.destroy();
  }
  throw new Error(`never reached ${id}`);
}

export async function getOn(port: number, id: string, urlPath: string, timeout?: number): Promise<Reply> {
  const agent = await agentOn(port, id);
  try {
    return await get(port, urlPath, { agent, timeout });
  } finally {
    agent.destroy();
  }
}
