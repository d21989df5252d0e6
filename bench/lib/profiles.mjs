// Per-function profiles of the --instructions run (bench/lib/callgrind.mjs does the parsing):
// each node server's callgrind file and perf map are kept under bench/profiles/callgrind/, and
// for every target whose baseline is a node process the subject's and the baseline's
// instructions per request are diffed by owner and by function. Written to
// bench/results/profiles.{md,json}; `--report` / `--update-md` put a short block for each
// target that is not met between the bench:profiles markers of BENCHMARKS.md.
import fs from 'node:fs';
import path from 'node:path';
import { combined } from './verdict.mjs';
import { diffMarkdown, profileAlone, profileDiff, profileFromFiles } from './callgrind.mjs';

export const PROFILE_START = '<!-- bench:profiles:start -->';
export const PROFILE_END = '<!-- bench:profiles:end -->';
/** Functions kept per diff in profiles.json and shown in profiles.md; BENCHMARKS.md shows fewer. */
const TOP_JSON = 40,
  TOP_MD = 25,
  TOP_REPORT = 10;

const slug = (s) => s.replace(/[^A-Za-z0-9.-]+/g, '_').replace(/^_+|_+$/g, '');

/** Where one server's callgrind file and perf map are kept (bench/profiles/ is not committed). */
export function keptNames(dir, scenario, server) {
  const base = path.join(dir, `${scenario}--${slug(server)}`);
  return { callgrind: `${base}.callgrind`, perfMap: `${base}.perf.map` };
}

/**
 * After a measured run: read the main thread's callgrind file and the process's perf map,
 * move both to `keep` (paths from keptNames plus a run suffix) and return the profile.
 */
export function takeProfile({ callgrindFile, pid, keep, root }) {
  // the process callgrind ran (its `pid:` line) is the one that wrote the perf map
  const head = fs.readFileSync(callgrindFile, 'utf8').slice(0, 2000);
  const map = `/tmp/perf-${/^pid:\s*(\d+)/m.exec(head)?.[1] ?? pid}.map`;
  fs.mkdirSync(path.dirname(keep.callgrind), { recursive: true });
  fs.copyFileSync(callgrindFile, keep.callgrind);
  let perfMap = null;
  if (fs.existsSync(map)) {
    fs.copyFileSync(map, keep.perfMap);
    fs.rmSync(map, { force: true });
    perfMap = keep.perfMap;
  }
  const profile = profileFromFiles(keep.callgrind, perfMap, { root });
  return { profile, files: { callgrind: keep.callgrind, perfMap } };
}

/** Of a server's runs (--repeat), keep the files of the one whose row is kept, named without the run suffix. */
export function keepRunFiles(kept, runs, dir, scenario, server) {
  const final = keptNames(dir, scenario, server);
  for (const r of runs) {
    if (!r.profileFiles) continue;
    if (r === kept) {
      fs.renameSync(r.profileFiles.callgrind, final.callgrind);
      if (r.profileFiles.perfMap) fs.renameSync(r.profileFiles.perfMap, final.perfMap);
      else fs.rmSync(final.perfMap, { force: true });
      r.profileFiles = { callgrind: final.callgrind, perfMap: r.profileFiles.perfMap ? final.perfMap : null };
    } else {
      fs.rmSync(r.profileFiles.callgrind, { force: true });
      if (r.profileFiles.perfMap) fs.rmSync(r.profileFiles.perfMap, { force: true });
    }
  }
}

const measured = (r) => Number.isFinite(r?.perRequest) && r.profile;

/**
 * The diffs of every target with a per-request instruction measure. A baseline that is not a
 * node process (nginx) is replaced by the subject's other node baseline in the same scenario
 * (static-1k: node:http with the same head, from memory), else by the first measured row; a
 * subject with nothing to diff against is shown alone.
 */
export function targetProfiles(results, verdicts, root) {
  const out = [];
  for (const { sc, res } of results) {
    if (!res.rows) continue;
    for (const t of sc.targets || []) {
      if ((t.metric && t.metric !== 'rps') || t.min == null) continue;
      const a = res.rows.find((r) => r.server === t.server);
      if (!measured(a)) continue;
      const vsRow = res.rows.find((r) => r.server === t.vs);
      let b = vsRow;
      let instead = null;
      if (!measured(b) && !vsRow?.notNode) continue; // a node baseline not measured: no diff to make
      if (!measured(b)) {
        const why = 'is not a node process';
        const other = (sc.targets || []).find(
          (o) => o !== t && o.server === t.server && measured(res.rows.find((r) => r.server === o.vs)),
        );
        b = other ? res.rows.find((r) => r.server === other.vs) : res.rows.find((r) => r !== a && measured(r));
        instead = b
          ? `${t.vs} ${why}: diffed against ${b.server}`
          : `${t.vs} ${why} and no other server was measured: ${t.server} alone`;
        if (!measured(b)) b = null;
      }
      const v = verdicts.find((x) => x.scenario === sc.name && x.server === t.server && x.vs === t.vs);
      const A = { profile: a.profile, requests: a.requests };
      const d = b
        ? profileDiff(A, { profile: b.profile, requests: b.requests }, { top: TOP_JSON })
        : profileAlone(A, { top: TOP_JSON });
      out.push({
        scenario: sc.name,
        server: t.server,
        vs: t.vs,
        against: b?.server ?? null,
        instead,
        unit: sc.loader === 'ws-echo' ? 'message' : 'request',
        target: `>= ${t.min} x by req/s, i.e. instructions <= ${(1 / t.min).toFixed(3)} x ${t.vs}'s`,
        instructions: v ? { ratio: v.ratio, limit: v.limit, met: v.met } : null,
        requests: { subject: a.requests, baseline: b?.requests ?? null },
        files: { subject: a.profileFiles ?? null, baseline: b?.profileFiles ?? null },
        diff: d,
      });
    }
  }
  return out;
}

const rel = (f, root) => (f ? path.relative(root, f) : '-');
const title = (p) => `${p.scenario}: ${p.server} / ${p.vs}`;

function profileBlock(p, { top, root, heading = '###' }) {
  const lines = [];
  const verdict = p.instructions
    ? `instruction ratio ${p.instructions.ratio.toFixed(3)} (limit ${p.instructions.limit.toFixed(3)}): ${p.instructions.met ? 'met' : 'missed'} on instructions`
    : 'no instruction verdict';
  lines.push(`${heading} ${title(p)}`, '');
  const d = p.diff;
  if (p.against) {
    lines.push(
      `${p.server} ${Math.round(d.subject).toLocaleString('en-US')} vs ${p.against} ${Math.round(d.baseline).toLocaleString('en-US')} instructions per ${p.unit} (main thread), ${d.diff >= 0 ? '+' : ''}${Math.round(d.diff).toLocaleString('en-US')}; ${verdict}.${p.instead ? ` ${p.instead}.` : ''}`,
      '',
      diffMarkdown(d, { subjectName: p.server, baselineName: p.against, top }),
    );
  } else {
    lines.push(
      `${p.server} ${Math.round(d.subject).toLocaleString('en-US')} instructions per ${p.unit}; ${p.instead}.`,
      '',
      diffMarkdown(d, { subjectName: p.server, top, alone: true }),
    );
  }
  if (root && p.files?.subject)
    lines.push(
      '',
      `Files: ${rel(p.files.subject.callgrind, root)}${p.files.baseline ? `, ${rel(p.files.baseline.callgrind, root)}` : ''} (with their \`.perf.map\`; \`callgrind_annotate\` reads them, JIT frames as addresses).`,
    );
  return lines.join('\n');
}

export const PROFILE_LEGEND =
  "Self instructions per request of each function on the server's main thread (what the function executed itself, not what it called, so the rows add up to the total), from the callgrind file of the --instructions run; JIT frames are named from node's `--perf-basic-prof` map (tier after the name: `~` interpreted, `^` Sparkplug, `+` Maglev, `*` TurboFan; interpreted code runs in V8's bytecode handlers), C/C++ frames by their symbols. Owners: node's lib is node's own JavaScript (`node:*`), node C++ its bindings and the llhttp parser, V8 its builtins (inline caches, calls, string and object operations), runtime, interpreter, RegExp and GC; `npm: <name>` is the baseline framework's code; the top rows are the largest differences, the last row all other functions, so each column sums to the total.";

/** bench/results/profiles.{md,json} of one --instructions run. */
export function writeProfiles({ outDir, profiles, header, started, root }) {
  const md = [
    `Run: ${header}.`,
    '',
    PROFILE_LEGEND,
    '',
    ...profiles.flatMap((p) => [profileBlock(p, { top: TOP_MD, root }), '']),
  ].join('\n');
  fs.writeFileSync(
    path.join(outDir, 'profiles.md'),
    md + (profiles.length ? '' : '(no target with a measured subject)\n'),
  );
  fs.writeFileSync(
    path.join(outDir, 'profiles.json'),
    JSON.stringify(
      {
        started,
        header,
        profiles: profiles.map((p) => ({
          ...p,
          files: {
            subject: p.files.subject && {
              callgrind: rel(p.files.subject.callgrind, root),
              perfMap: rel(p.files.subject.perfMap, root),
            },
            baseline: p.files.baseline && {
              callgrind: rel(p.files.baseline.callgrind, root),
              perfMap: rel(p.files.baseline.perfMap, root),
            },
          },
        })),
      },
      null,
      2,
    ) + '\n',
  );
}

/**
 * For `--report`: a short profile block under each target that is not met (every measure of
 * bench/lib/verdict.mjs), from bench/results/profiles.json; null when there is no profile run.
 */
export function reportProfiles(resultsDir, rps, ins) {
  let prof;
  try {
    prof = JSON.parse(fs.readFileSync(path.join(resultsDir, 'profiles.json'), 'utf8'));
  } catch {
    return null;
  }
  const out = [];
  const same = ins && prof.started === ins.started;
  out.push(
    `Per-function profiles of the targets not met, from the --instructions run ${same ? 'of the table above' : `of ${prof.header.split(',')[0]} (**not the run of the table above**: run \`npm run bench -- --instructions\` again)`} (\`bench/results/profiles.md\` has every target's, with more rows; ${PROFILE_LEGEND.split('(')[0].trim().toLowerCase()}).`,
    '',
  );
  // a p99, RSS or start target of the same pair has no instruction verdict and no profile
  const key = (v) => `${v.scenario}\n${v.server}\n${v.vs}\n${v.metric || 'rps'}`;
  const insBy = new Map((ins?.verdicts || []).map((v) => [key(v), v]));
  const profBy = new Map(prof.profiles.map((p) => [key(p), p]));
  let n = 0;
  for (const v of rps?.verdicts || []) {
    const c = combined(v, insBy.get(key(v)));
    if (c.met !== false) continue;
    const p = profBy.get(key(v));
    const label = `${v.scenario}: ${v.server} / ${v.vs} (${v.metric === 'rps' ? 'req/s' : v.metric})`;
    if (!p) {
      out.push(
        `#### ${label}`,
        '',
        v.metric && v.metric !== 'rps'
          ? `Not a per-request target (${v.metric}): no instruction profile.`
          : 'No profile: the --instructions run did not measure this target.',
        '',
      );
      continue;
    }
    n++;
    out.push(
      profileBlock(p, { top: TOP_REPORT, heading: '####' }).replace(/^#### [^\n]*/, `#### ${label}: not met`),
      '',
    );
  }
  if (!n && !out.some((l) => l.startsWith('####'))) out.push('Every target is met.', '');
  return out.join('\n');
}
