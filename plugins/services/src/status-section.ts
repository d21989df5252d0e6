// The services' part of the status page (the kernel's `status` tap point): every alias member
// with its health, and the result cache, as a table and as Prometheus metrics.
import type { StatusSection } from '@skitai/kernel';
import type { BackendServices } from './manager.js';

interface MemberRow {
  member: string;
  weight: number;
  inFlight: number;
  served: number;
  failures: number;
  available: boolean;
  asideFor: number;
  lastError?: unknown;
}

export function statusSection(services: BackendServices): StatusSection {
  const numbers = services.status() as {
    aliases: Array<{ name: string; type: string; members: MemberRow[] }>;
    rcache: Record<string, number>;
  };
  const rows = numbers.aliases.flatMap((a) =>
    a.members.map((m) => ({
      alias: a.name,
      type: a.type,
      member: m.member,
      weight: m.weight,
      health: m.available ? 'up' : `set aside ${(m.asideFor / 1000).toFixed(1)} s`,
      inFlight: m.inFlight,
      calls: m.served,
      errors: m.failures,
      lastError:
        m.lastError === undefined || m.lastError === null ? '' : String((m.lastError as Error)?.message ?? m.lastError),
    })),
  );
  const rc = numbers.rcache;
  const lookups = (rc.hits ?? 0) + (rc.misses ?? 0);
  const labels = (r: { alias: string; member: string }) => ({ alias: r.alias, member: r.member });
  return {
    name: 'services',
    title: 'Backend aliases and result cache',
    data: {
      members: rows,
      resultCache: {
        entries: rc.size,
        max: rc.max,
        hits: rc.hits,
        misses: rc.misses,
        hitRate: lookups === 0 ? '-' : `${((100 * rc.hits!) / lookups).toFixed(1)}%`,
        evictions: rc.evictions,
      },
    },
    metrics: [
      {
        name: 'skitai_backend_member_up',
        help: 'Whether the alias member takes calls (0 while set aside after connection errors).',
        type: 'gauge',
        samples: rows.map((r) => ({ labels: labels(r), value: r.health === 'up' ? 1 : 0 })),
      },
      {
        name: 'skitai_backend_member_in_flight',
        help: 'Calls to the alias member not answered yet.',
        type: 'gauge',
        samples: rows.map((r) => ({ labels: labels(r), value: r.inFlight })),
      },
      {
        name: 'skitai_backend_member_calls_total',
        help: 'Calls sent to the alias member.',
        type: 'counter',
        samples: rows.map((r) => ({ labels: labels(r), value: r.calls })),
      },
      {
        name: 'skitai_backend_member_errors_total',
        help: 'Connection errors of the alias member.',
        type: 'counter',
        samples: rows.map((r) => ({ labels: labels(r), value: r.errors })),
      },
      {
        name: 'skitai_result_cache_entries',
        help: 'Results kept by result.cache().',
        type: 'gauge',
        samples: [{ value: rc.size ?? 0 }],
      },
      {
        name: 'skitai_result_cache_hits_total',
        help: 'Result cache lookups that found a result.',
        type: 'counter',
        samples: [{ value: rc.hits ?? 0 }],
      },
      {
        name: 'skitai_result_cache_misses_total',
        help: 'Result cache lookups that found none.',
        type: 'counter',
        samples: [{ value: rc.misses ?? 0 }],
      },
    ],
  };
}
