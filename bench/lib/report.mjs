// `npm run bench -- --report [--update-md]`: the whole table of the last req/s run
// (bench/results/latest.json) and the last --instructions run (instructions.json), with the
// commit each ran at and every target judged on all its measures (bench/lib/verdict.mjs), as
// Markdown for BENCHMARKS.md (between its bench:table markers with --update-md).
import fs from 'node:fs';
import path from 'node:path';
import { combined, verdictLine } from './verdict.mjs';
import { markdownTable } from './table.mjs';
import { PROFILE_END, PROFILE_START, reportProfiles } from './profiles.mjs';

const START = '<!-- bench:table:start -->',
  END = '<!-- bench:table:end -->';

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** -> the Markdown, or throws why it cannot be made. */
export function reportMarkdown(resultsDir, allScenarios = []) {
  const rps = readJson(path.join(resultsDir, 'latest.json'));
  const ins = readJson(path.join(resultsDir, 'instructions.json'));
  if (!rps?.markdown)
    throw new Error('no req/s run with a report in bench/results/latest.json: run `npm run bench` first');
  const out = [];
  const commits = [rps.commit, ins?.commit].filter(Boolean);
  const oneCommit = new Set(commits).size === 1;
  out.push(
    `Full run at commit ${rps.commit}${ins ? (oneCommit ? ' (both measures)' : ` (req/s) and ${ins.commit} (instructions)`) : ' (req/s only: no --instructions run)'}.`,
    '',
  );
  if (ins && !oneCommit)
    out.push(`**Warning: the two runs are at different commits (${commits.join(', ')}): run both at one commit.**`, '');
  // A full run has every scenario (a scenario whose feature has not landed says so in its row).
  const ran = new Set((rps.results || []).map((r) => r.scenario));
  const missing = allScenarios.filter((n) => !ran.has(n));
  if (missing.length) out.push(`**Not a full run: the req/s run left out ${missing.join(', ')}.**`, '');
  const failed = (rps.results || []).filter((r) => r.failed).map((r) => r.scenario);
  if (failed.length)
    out.push(`**Failed, not like-for-like: ${failed.join(', ')}** (their rows say which headers differ).`, '');
  const key = (v) => `${v.scenario}\n${v.server}\n${v.vs}\n${v.metric || 'rps'}`;
  const byKey = new Map((ins?.verdicts || []).map((v) => [key(v), v]));
  const rows = (rps.verdicts || []).map((v) => {
    const iv = byKey.get(key(v));
    const c = combined(v, iv);
    const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
    return [
      `${v.scenario}: ${v.server} / ${v.vs} (${v.metric === 'rps' ? 'req/s' : v.metric})`,
      v.want,
      f(v.paired),
      f(v.ofMedians),
      iv ? `${iv.ratio.toFixed(3)} (<= ${iv.limit.toFixed(3)})` : '-',
      c.met === null ? 'not measured' : c.met ? 'MET' : 'NOT MET',
      c.why,
    ];
  });
  out.push(
    '### Targets',
    '',
    "A target is met only when every measure shown meets it: the median of the per-round req/s ratios, the ratio of the median req/s, and, where the baseline is a node process, the instruction-count ratio (a req/s target `>= m` is `instructions <= 1/m` of the baseline's; lower is better).",
    '',
    markdownTable(
      [
        'target',
        'wanted',
        'median of round ratios',
        'ratio of medians',
        'instructions ratio (limit)',
        'verdict',
        'why',
      ],
      (i) => i >= 2 && i <= 4,
      rows,
    ),
    '',
  );
  out.push('### Requests per second, p99 latency, memory, cold start', '', rps.markdown, '');
  if (ins?.markdown) out.push('### Instructions per request', '', ins.markdown, '');
  return out.join('\n');
}

export function printReport({ resultsDir, benchmarksMd, update, log, scenarios = [] }) {
  let md;
  try {
    md = reportMarkdown(resultsDir, scenarios);
  } catch (e) {
    log(e.message);
    return 2;
  }
  console.log(md);
  const rps = readJson(path.join(resultsDir, 'latest.json'));
  const prof = reportProfiles(resultsDir, rps, readJson(path.join(resultsDir, 'instructions.json')));
  if (prof) console.log('\n' + prof);
  if (update) {
    let doc = fs.existsSync(benchmarksMd)
      ? fs.readFileSync(benchmarksMd, 'utf8')
      : `# Benchmarks\n\n${START}\n${END}\n`;
    if (!doc.includes(START)) doc += `\n${START}\n${END}\n`;
    doc = doc.slice(0, doc.indexOf(START) + START.length) + '\n' + md + '\n' + doc.slice(doc.indexOf(END));
    if (prof) doc = replaceBetween(doc, PROFILE_START, PROFILE_END, prof, END);
    fs.writeFileSync(benchmarksMd, doc);
    log(
      `wrote the report into ${benchmarksMd} (between ${START} and ${END}${prof ? `, the profiles between ${PROFILE_START} and ${PROFILE_END}` : ''})`,
    );
  }
  return 0;
}
/** Put `text` between two markers of `doc`; markers not there yet go right after `after`. */
function replaceBetween(doc, start, end, text, after) {
  if (!doc.includes(start) || !doc.includes(end)) {
    const at = doc.indexOf(after) + after.length;
    doc = doc.slice(0, at) + `\n\n${start}\n${end}` + doc.slice(at);
  }
  return doc.slice(0, doc.indexOf(start) + start.length) + '\n' + text + '\n' + doc.slice(doc.indexOf(end));
}
export { verdictLine };
