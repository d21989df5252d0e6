// The cache's part of the status page (the kernel's `status` tap point): each tier's bytes,
// entries and hits, and the lookups' outcomes, as a table and as Prometheus metrics.
import type { StatusSection } from '@skitai/kernel';
import type { HttpCache } from './http-cache.js';

export function statusSection(cache: HttpCache): StatusSection {
  const { memory, disk, stats } = cache;
  const lookups = stats.hits + stats.misses;
  const tiers = [
    memory === undefined
      ? { tier: 'memory', state: 'off' }
      : {
          tier: 'memory',
          state: 'on',
          bytes: memory.bytes,
          max: memory.max,
          entries: memory.entries,
          hits: memory.hits,
          evictions: memory.evictions,
        },
    disk === undefined
      ? { tier: 'disk', state: 'off' }
      : {
          tier: 'disk',
          state: disk.off === undefined ? 'on' : `off (${disk.off})`,
          path: disk.dir,
          bytes: disk.bytes,
          max: disk.max,
          entries: disk.entries,
          hits: disk.hits,
          evictions: disk.evictions,
          writes: disk.writes,
          corrupt: disk.corrupt,
        },
  ];
  const tierSamples = (pick: (t: { bytes?: number; entries?: number; hits?: number }) => number | undefined) =>
    tiers
      .filter((t) => t.state !== 'off')
      .map((t) => ({ labels: { tier: t.tier }, value: pick(t as { bytes?: number }) ?? 0 }));
  return {
    name: 'cachefs',
    title: 'Response cache',
    data: {
      tiers,
      lookups: { ...stats, hitRate: lookups === 0 ? '-' : `${((100 * stats.hits) / lookups).toFixed(1)}%` },
    },
    metrics: [
      {
        name: 'skitai_cachefs_bytes',
        help: 'Bytes the response cache keeps, by tier.',
        type: 'gauge',
        samples: tierSamples((t) => t.bytes),
      },
      {
        name: 'skitai_cachefs_entries',
        help: 'Items the response cache keeps, by tier.',
        type: 'gauge',
        samples: tierSamples((t) => t.entries),
      },
      {
        name: 'skitai_cachefs_tier_hits_total',
        help: 'Stored responses read from the tier.',
        type: 'counter',
        samples: tierSamples((t) => t.hits),
      },
      {
        name: 'skitai_cachefs_hits_total',
        help: 'Requests answered from the response cache.',
        type: 'counter',
        samples: [{ value: stats.hits }],
      },
      {
        name: 'skitai_cachefs_misses_total',
        help: 'Cacheable requests the backend answered.',
        type: 'counter',
        samples: [{ value: stats.misses }],
      },
      {
        name: 'skitai_cachefs_revalidated_total',
        help: 'Stale responses a 304 from the backend refreshed.',
        type: 'counter',
        samples: [{ value: stats.revalidated }],
      },
      {
        name: 'skitai_cachefs_collapsed_total',
        help: 'Requests that waited for a concurrent miss instead of asking the backend.',
        type: 'counter',
        samples: [{ value: stats.collapsed }],
      },
    ],
  };
}
