// One verdict rule for every target, in every output: a target is met only when every measure
// shown for it meets it (req/s mode: the median of the per-round ratios AND the ratio of the
// medians; with an --instructions run beside it, the instruction-count ratio as well).

/** The req/s mode's target line (v from bench/run.mjs verdicts()). */
export function verdictLine(v) {
  const want = `[target ${v.want}]`;
  if (!Number.isFinite(v.paired)) return `${v.label}: ${v.note || 'not measured'} ${want}`;
  const perCpu = Number.isFinite(v.perCpu) ? `; per server CPU-second ${v.perCpu.toFixed(2)}` : '';
  return `${v.label}: median of the round ratios ${v.paired.toFixed(2)} (${v.rounds.map((x) => x.toFixed(2)).join(', ')}), ratio of the medians ${v.ofMedians.toFixed(2)} ${want}: ${v.met ? 'MET (both)' : 'NOT MET'}${perCpu}`;
}

/**
 * Join a req/s verdict with the instruction verdict of the same target (or none: nginx is not
 * a node process; p99, RSS and start time have no instruction count).
 * -> { met: true|false|null, why }
 */
export function combined(v, iv) {
  if (!v || !Number.isFinite(v.paired)) return { met: null, why: 'req/s not measured' };
  const rpsOk = v.met;
  if (!iv) {
    const why =
      v.metric !== 'rps'
        ? `${v.metric}: no instruction count for it`
        : 'no instruction count (a baseline that is not a node process, or not in the --instructions run)';
    return {
      met: rpsOk,
      why: `${rpsOk ? 'both measures of the req/s run meet it' : 'a measure of the req/s run misses it'}; ${why}`,
    };
  }
  if (rpsOk && iv.met) return { met: true, why: 'all three measures meet it' };
  const miss = [];
  if (!(v.paired >= (v.min ?? -Infinity) && v.paired <= (v.max ?? Infinity))) miss.push('median of the round ratios');
  if (!(v.ofMedians >= (v.min ?? -Infinity) && v.ofMedians <= (v.max ?? Infinity))) miss.push('ratio of the medians');
  if (!iv.met) miss.push('instruction count');
  return { met: false, why: `missed by: ${miss.join(', ')}` };
}
