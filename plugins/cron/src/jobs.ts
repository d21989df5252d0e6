// Jobs: what a user writes (crontab lines, [spec, command] pairs, objects), what the
// scheduler runs (a JSON-safe Job), and the checks made at start: the spec parses, the
// command or module exists.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Cron, type CronOptions } from 'croner';
import process from 'node:process';

/** Every error this package raises carries a stable `code`. */
export class CronError extends Error {
  readonly code: string;
  constructor(
    code: 'SKT_CRON_SPEC' | 'SKT_CRON_COMMAND' | 'SKT_CRON_JOB' | 'SKT_CRON_CONFIG' | 'SKT_CRON_OPTION',
    message: string,
  ) {
    super(message);
    this.name = 'CronError';
    this.code = code;
  }
}

/** A shell command run by `/bin/sh -c` on a schedule. */
export interface CommandJobInput {
  spec: string;
  command: string;
  /** Shown in the log instead of `#<n>`. */
  name?: string;
  /** IANA time zone for this job's spec (default: the scheduler's). */
  timezone?: string;
}

/** A function exported by a module, called in the scheduler process. */
export interface FunctionJobInput {
  spec: string;
  /** A path (relative to the working folder), a file: URL, or a package name. */
  module: string | URL;
  /** The export to call (default 'default'). */
  export?: string;
  /** Handed to the function as `ctx.args` (must survive JSON). */
  args?: unknown;
  name?: string;
  timezone?: string;
}

/**
 * A job as given: a crontab line ('*\/2 * * * * command > log 2>&1'), a [spec, command] pair
 * (Skitai's `skitai.cron(spec, command)`), or an object.
 */
export type JobInput = string | readonly [string, string] | CommandJobInput | FunctionJobInput;

interface JobBase {
  /** 1-based position: the job's default name is `#<index>`. */
  index: number;
  /** `#<index>` or the name given. */
  name: string;
  spec: string;
  timezone?: string;
}

/** A job ready to schedule; plain data, so it crosses to the scheduler process as JSON. */
export type Job = JobBase &
  ({ kind: 'command'; command: string } | { kind: 'function'; module: string; exportName: string; args?: unknown });

export interface JobOptions {
  /** Accept a leading seconds field (six-field specs, croner's extension). Default false. */
  seconds?: boolean;
  /** Folder that relative module paths and commands are resolved against. */
  cwd: string;
}

/** `#3 (*\/2 * * * * backup.sh)`: how errors and logs name a job. */
export function describeJob(job: Job): string {
  return `${job.name} (${job.spec} ${jobTarget(job)})`;
}

/** The command, or `module:<path>#<export>` for a function job. */
export function jobTarget(job: Job): string {
  if (job.kind === 'command') return job.command;
  let shown = job.module;
  if (shown.startsWith('file:')) {
    try {
      shown = fileURLToPath(shown);
    } catch {
      /* keep the URL */
    }
  }
  return `module:${shown}#${job.exportName}`;
}

const MODULE_PREFIX = 'module:';

// A sixth token that can only be a time field (day of week of a six-field spec), never a command.
const DAY = '(?:SUN|MON|TUE|WED|THU|FRI|SAT)';
const TIME_FIELD = new RegExp(`^(?:[0-9*?LW#/,-]+|${DAY}(?:[-,#/](?:${DAY}|[0-9LW]+))*)$`, 'i');

/**
 * Splits a crontab line into spec and command: five time fields, or one `@nickname` (@yearly,
 * @monthly, @weekly, @daily, @hourly ...), then the command verbatim. With `seconds`, a line
 * may have six time fields (the first is seconds): a sixth token that reads as a time field
 * is taken as one. A command `module:<path>#<export>` is a function job.
 */
export function splitCrontabLine(line: string, seconds = false): { spec: string; command: string } {
  const text = line.trim();
  const fields = text.startsWith('@') ? 1 : 5;
  let rest = text;
  const spec: string[] = [];
  const take = () => {
    const m = /^(\S+)\s*/.exec(rest);
    if (!m) return false;
    spec.push(m[1]!);
    rest = rest.slice(m[0].length);
    return true;
  };
  for (let i = 0; i < fields; i++) if (!take()) break;
  if (seconds && fields === 5 && spec.length === 5) {
    const sixth = /^(\S+)\s+\S/.exec(rest);
    if (sixth && TIME_FIELD.test(sixth[1]!)) take();
  }
  if (spec.length < fields || rest === '') {
    const expected = fields === 1 ? 'an @nickname' : seconds ? '5 or 6 time fields' : '5 time fields';
    throw new CronError(
      'SKT_CRON_JOB',
      `crontab line ${JSON.stringify(line)}: expected ${expected} and then a command`,
    );
  }
  return { spec: spec.join(' '), command: rest };
}

function functionFromCommand(command: string): { module: string; exportName: string } | undefined {
  if (!command.startsWith(MODULE_PREFIX)) return undefined;
  const target = command.slice(MODULE_PREFIX.length).trim();
  const hash = target.lastIndexOf('#');
  const module = hash > 0 ? target.slice(0, hash) : target;
  const exportName = hash > 0 ? target.slice(hash + 1) : 'default';
  return { module, exportName: exportName || 'default' };
}

/** Resolves a module reference to a file: URL, relative to `cwd`; throws when nothing is there. */
export function resolveModule(ref: string | URL, cwd: string): string {
  if (ref instanceof URL) return ref.href;
  if (ref.startsWith('file:')) return ref;
  if (ref.startsWith('.') || path.isAbsolute(ref)) {
    const file = path.resolve(cwd, ref);
    if (!fs.existsSync(file)) throw new Error(`module ${file} does not exist`);
    return pathToFileURL(file).href;
  }
  // A package name: found from the working folder, as the user's own code would find it.
  return pathToFileURL(createRequire(path.join(cwd, 'noop.js')).resolve(ref)).href;
}

/** Turns what the user gave into Jobs, numbered from `first`. Throws on a malformed entry. */
export function normalizeJobs(inputs: readonly JobInput[], options: JobOptions, first = 1): Job[] {
  return inputs.map((input, i) => normalizeJob(input, first + i, options));
}

function normalizeJob(input: JobInput, index: number, options: JobOptions): Job {
  const fallback = `#${index}`;
  let spec: string;
  let name = fallback;
  let timezone: string | undefined;
  let command: string | undefined;
  let fn: { module: string | URL; exportName: string; args?: unknown } | undefined;
  if (typeof input === 'string') {
    try {
      ({ spec, command } = splitCrontabLine(input, options.seconds));
    } catch (err) {
      throw new CronError('SKT_CRON_JOB', `cron job ${fallback}: ${(err as Error).message}`);
    }
  } else if (Array.isArray(input)) {
    if (input.length !== 2 || typeof input[0] !== 'string' || typeof input[1] !== 'string') {
      throw new CronError(
        'SKT_CRON_JOB',
        `cron job ${fallback}: a pair must be [spec, command], got ${JSON.stringify(input)}`,
      );
    }
    spec = input[0];
    command = input[1];
  } else if (input && typeof input === 'object') {
    const o = input as Partial<CommandJobInput & FunctionJobInput>;
    if (typeof o.spec !== 'string')
      throw new CronError('SKT_CRON_JOB', `cron job ${fallback}: no spec (a crontab time spec such as "*/5 * * * *")`);
    spec = o.spec;
    if (o.name !== undefined) {
      if (typeof o.name !== 'string' || o.name === '')
        throw new CronError('SKT_CRON_JOB', `cron job ${fallback}: name must be a non-empty string`);
      name = o.name;
    }
    timezone = o.timezone;
    if (typeof o.command === 'string' && o.module === undefined) command = o.command;
    else if (o.command === undefined && (typeof o.module === 'string' || o.module instanceof URL)) {
      fn = { module: o.module, exportName: o.export ?? 'default', args: o.args };
    } else {
      throw new CronError(
        'SKT_CRON_JOB',
        `cron job ${name} (${spec}): give either a command (a string) or a module (and an export name)`,
      );
    }
  } else {
    throw new CronError(
      'SKT_CRON_JOB',
      `cron job ${fallback}: expected a crontab line, a [spec, command] pair or an object, got ${JSON.stringify(input)}`,
    );
  }
  spec = spec.trim().replace(/\s+/g, ' ');
  if (command !== undefined) {
    command = command.trim();
    if (command === '') throw new CronError('SKT_CRON_COMMAND', `cron job ${name} (${spec}): the command is empty`);
    fn = functionFromCommand(command);
  }
  if (fn) {
    let module: string;
    try {
      module = resolveModule(fn.module, options.cwd);
    } catch (err) {
      throw new CronError(
        'SKT_CRON_COMMAND',
        `cron job ${name} (${spec} module:${String(fn.module)}#${fn.exportName}): cannot find the module: ${(err as Error).message}`,
      );
    }
    if (fn.args !== undefined) {
      try {
        JSON.stringify(fn.args);
      } catch {
        throw new CronError('SKT_CRON_JOB', `cron job ${name}: args must survive JSON`);
      }
    }
    return { index, name, spec, timezone, kind: 'function', module, exportName: fn.exportName, args: fn.args };
  }
  return { index, name, spec, timezone, kind: 'command', command: command! };
}

// ---- checks at start -----------------------------------------------------------------------

/** Croner options for a job: Skitai's five fields (or six with seconds), POSIX day matching. */
export function cronOptions(job: Job, scheduler: { seconds?: boolean; timezone?: string }): CronOptions {
  return {
    mode: scheduler.seconds ? '5-or-6-parts' : '5-part',
    // Skitai's own examples step from a number ('9 2/12 * * *'): let croner read them.
    sloppyRanges: true,
    // POSIX: when both day of month and day of week are restricted, either one matches.
    domAndDow: false,
    timezone: job.timezone ?? scheduler.timezone,
  };
}

/** Throws a CronError when the time zone is not one the runtime knows. */
export function checkTimezone(timezone: string | undefined, what: string): void {
  if (timezone === undefined) return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new CronError(
      'SKT_CRON_OPTION',
      `${what}: unknown time zone ${JSON.stringify(timezone)} (expected an IANA name such as "Europe/Berlin" or "UTC")`,
    );
  }
}

/** Parses the job's spec with croner; throws a CronError naming the job when it is bad or never due. */
export function checkSpec(job: Job, scheduler: { seconds?: boolean; timezone?: string }): void {
  checkTimezone(job.timezone, `cron job ${describeJob(job)}`);
  let next: Date | null;
  try {
    const c = new Cron(job.spec, { ...cronOptions(job, scheduler), paused: true });
    next = c.nextRun();
    c.stop();
  } catch (err) {
    let why = (err as Error).message.replace(/^CronPattern:\s*/, '');
    if (!scheduler.seconds && job.spec.split(' ').length === 6)
      why += '; a leading seconds field needs the `seconds` option';
    throw new CronError('SKT_CRON_SPEC', `cron job ${describeJob(job)}: bad spec ${JSON.stringify(job.spec)}: ${why}`);
  }
  if (next === null)
    throw new CronError(
      'SKT_CRON_SPEC',
      `cron job ${describeJob(job)}: the spec ${JSON.stringify(job.spec)} is never due`,
    );
}

// Words the shell knows by itself: a command starting with one of these is not looked up.
const SHELL_WORDS = new Set([
  '!',
  '{',
  '(',
  '[',
  '[[',
  ':',
  '.',
  'alias',
  'bg',
  'break',
  'case',
  'cd',
  'command',
  'continue',
  'echo',
  'eval',
  'exec',
  'exit',
  'export',
  'false',
  'fg',
  'for',
  'function',
  'getopts',
  'hash',
  'if',
  'jobs',
  'kill',
  'printf',
  'pwd',
  'read',
  'readonly',
  'return',
  'select',
  'set',
  'shift',
  'source',
  'test',
  'time',
  'times',
  'trap',
  'true',
  'type',
  'ulimit',
  'umask',
  'unalias',
  'unset',
  'until',
  'wait',
  'while',
]);

/** The first word the shell will run, after any `NAME=value` assignments; quotes removed. */
export function commandWord(command: string): string | undefined {
  let rest = command.trimStart();
  for (;;) {
    if (rest === '') return undefined;
    if (rest[0] === '(' || rest[0] === '{' || rest[0] === '!') return rest[0];
    let word = '';
    let i = 0;
    for (; i < rest.length; i++) {
      const c = rest[i]!;
      if (/\s|[;&|<>()]/.test(c)) break;
      if (c === "'" || c === '"') {
        const end = rest.indexOf(c, i + 1);
        if (end < 0) return undefined;
        word += rest.slice(i + 1, end);
        i = end;
      } else if (c === '\\' && i + 1 < rest.length) {
        word += rest[++i];
      } else {
        word += c;
      }
    }
    rest = rest.slice(i).trimStart();
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue; // an assignment before the command
    return word;
  }
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the shell would find `word`; undefined when it would say "not found". */
export function findExecutable(word: string, cwd: string, envPath = process.env.PATH ?? ''): string | undefined {
  if (word.includes('/')) {
    const file = path.resolve(cwd, word);
    return isExecutableFile(file) ? file : undefined;
  }
  for (const dir of envPath.split(':')) {
    const file = path.resolve(cwd, dir || '.', word);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

/** Throws when the command's first word is neither a shell word nor an executable the shell would find. */
export function checkCommand(job: Job & { kind: 'command' }, cwd: string): void {
  const word = commandWord(job.command);
  if (word === undefined)
    throw new CronError('SKT_CRON_COMMAND', `cron job ${describeJob(job)}: cannot read the command`);
  if (SHELL_WORDS.has(word) || word.includes('$') || word.includes('`') || word.includes('*')) return;
  if (findExecutable(word, cwd) === undefined) {
    const where = word.includes('/') ? `${path.resolve(cwd, word)} is not an executable file` : 'not found on PATH';
    throw new CronError(
      'SKT_CRON_COMMAND',
      `cron job ${describeJob(job)}: unknown command ${JSON.stringify(word)} (${where})`,
    );
  }
}

const MARK = '\u0000skitai-cron-check:';

/** A function in a module: a function job's target, or the lock. */
export interface ModuleFunction {
  /** file: URL (resolveModule's result). */
  module: string;
  exportName: string;
  args?: unknown;
}

/**
 * Imports each module in a throw-away node process (so that nothing of it runs in the server)
 * and checks that the export is a function; `label` names the owner in the error.
 */
export function checkExports(list: ReadonlyArray<ModuleFunction & { label: string }>, cwd: string): void {
  if (list.length === 0) return;
  const script = `
    const list = JSON.parse(process.argv[1]);
    const out = [];
    for (const { module, exportName } of list) {
      try {
        const m = await import(module);
        out.push({ type: typeof m[exportName] });
      } catch (err) {
        out.push({ error: String((err && err.message) || err) });
      }
    }
    process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify(out) + '\\n');
    process.exit(0);`;
  const res = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      script,
      JSON.stringify(list.map((f) => ({ module: f.module, exportName: f.exportName }))),
    ],
    {
      cwd,
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const line = (res.stdout ?? '').split('\n').find((l) => l.startsWith(MARK));
  if (!line) {
    throw new CronError(
      'SKT_CRON_COMMAND',
      `cron: cannot check the modules of ${list.map((f) => f.label).join(', ')} (${res.error?.message ?? `exit ${res.status ?? res.signal}`}): ${(res.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  const results = JSON.parse(line.slice(MARK.length)) as Array<{ type?: string; error?: string }>;
  list.forEach((f, i) => {
    const r = results[i]!;
    if (r.error !== undefined)
      throw new CronError('SKT_CRON_COMMAND', `${f.label}: the module fails to load: ${r.error}`);
    if (r.type !== 'function') {
      throw new CronError(
        'SKT_CRON_COMMAND',
        `${f.label}: export ${JSON.stringify(f.exportName)} is ${r.type === 'undefined' ? 'missing' : `a ${r.type}, not a function`}`,
      );
    }
  });
}

/** Checks that every function job's export is a function (see checkExports). */
export function checkFunctionJobs(jobs: readonly Job[], cwd: string, lock?: ModuleFunction): void {
  const list: Array<ModuleFunction & { label: string }> = [];
  for (const job of jobs) {
    if (job.kind === 'function')
      list.push({ module: job.module, exportName: job.exportName, label: `cron job ${describeJob(job)}` });
  }
  if (lock) list.push({ ...lock, label: `cron lock (${lock.module}#${lock.exportName})` });
  checkExports(list, cwd);
}

/** Where the lock is: `./lock.mjs#acquire`, or { module, export, args }. */
export type LockInput = string | { module: string | URL; export?: string; args?: unknown };

/** Resolves the lock's module against `cwd`; throws a CronError when it is not there. */
export function normalizeLock(input: LockInput | undefined, cwd: string): ModuleFunction | undefined {
  if (input === undefined) return undefined;
  let ref: string | URL;
  let exportName: string;
  let args: unknown;
  if (typeof input === 'string') {
    const hash = input.lastIndexOf('#');
    ref = hash > 0 ? input.slice(0, hash) : input;
    exportName = hash > 0 ? input.slice(hash + 1) || 'default' : 'default';
  } else if (input && typeof input === 'object' && (typeof input.module === 'string' || input.module instanceof URL)) {
    ref = input.module;
    exportName = input.export ?? 'default';
    args = input.args;
  } else {
    throw new CronError(
      'SKT_CRON_OPTION',
      `cron lock: expected "<module>#<export>" or { module, export }, got ${JSON.stringify(input)}`,
    );
  }
  try {
    return { module: resolveModule(ref, cwd), exportName, args };
  } catch (err) {
    throw new CronError(
      'SKT_CRON_COMMAND',
      `cron lock (${String(ref)}#${exportName}): cannot find the module: ${(err as Error).message}`,
    );
  }
}

export interface CheckOptions {
  seconds?: boolean;
  timezone?: string;
  cwd: string;
  /** Import function jobs' modules (and the lock's) to check their exports (default true). */
  modules?: boolean;
  /** The lock, checked with the function jobs. */
  lock?: ModuleFunction;
}

/** Every check made at start; throws the first CronError, which names the job. */
export function checkJobs(jobs: readonly Job[], options: CheckOptions): void {
  checkTimezone(options.timezone, 'cron');
  const names = new Set<string>();
  for (const job of jobs) {
    if (names.has(job.name))
      throw new CronError('SKT_CRON_JOB', `cron job ${describeJob(job)}: the name ${job.name} is used twice`);
    names.add(job.name);
    checkSpec(job, options);
    if (job.kind === 'command') checkCommand(job, options.cwd);
  }
  if (options.modules !== false) checkFunctionJobs(jobs, options.cwd, options.lock);
}
