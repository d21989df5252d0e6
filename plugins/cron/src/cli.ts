#!/usr/bin/env node
// skitai-cron: the scheduler alone, from a Skitai config file.
//
//   skitai-cron -f ~/.skitai.conf            foreground
//   skitai-cron -f ~/.skitai.conf start|-d   as a daemon (a pid file in var-path)
//   skitai-cron -f ~/.skitai.conf status|stop|-s|restart|-r
import process from 'node:process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as nodeParseArgs } from 'node:util';
import {
  readPidFile,
  splitVerbs,
  startDetached,
  waitForExit,
  writePidFile,
  type PidState,
  type Verb,
} from '@skitai/kernel/cli';
import { checkJobs, CronError, normalizeJobs, normalizeLock, type Job, type ModuleFunction } from './jobs.js';
import { iniBoolean, readIni, type IniFile } from './ini.js';
import { CronLog } from './log.js';
import { Scheduler, keepGoing } from './scheduler.js';

export interface CliArgs {
  config?: string;
  verbose?: boolean;
  logPath?: string;
  varPath?: string;
  pname?: string;
  timezone?: string;
  seconds?: boolean;
  cwd?: string;
  lock?: string;
  help?: boolean;
  verb?: Verb;
  /** Crontab lines given on the command line. */
  lines: string[];
}

export const USAGE = `Usage: skitai-cron [options] [start|-d|stop|-s|restart|-r|status] [crontab lines...]

Runs crontab jobs, in the foreground without a verb, as a daemon with start (-d).

Options (each overrides the config file):
  -f, --config FILE              Skitai config file ([common] log-path, [cron] ..., [:crontab])
                                 (default ~/.skitai.conf when it exists)
  -v, --verbose                  log to the console too
  --log-path DIR                 folder for cron.log (and the daemon's output)
  --var-path DIR                 folder for the pid file (default /var/tmp/skitai/cron)
  --pname, --process-display-name NAME
                                 process title and pid file name (default skitai-cron)
  --timezone TZ                  IANA time zone of the specs (default: TZ or the system's)
  --seconds                      accept six-field specs with a leading seconds field
  --cwd DIR                      working folder of the jobs (default: the config file's folder)
  --lock MODULE#EXPORT           a lock shared with other machines (each run on one of them)
  -h, --help                     this text

status exits 0 when running, 3 when stopped.`;

// node's util.parseArgs reads the options; splitVerbs takes the verbs (start, -d ...) out first.
const OPTIONS = {
  config: { type: 'string', short: 'f' },
  verbose: { type: 'boolean', short: 'v' },
  'log-path': { type: 'string' },
  'var-path': { type: 'string' },
  pname: { type: 'string' },
  'process-display-name': { type: 'string' },
  timezone: { type: 'string' },
  seconds: { type: 'boolean' },
  cwd: { type: 'string' },
  lock: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { lines: [] };
  const { verbs, rest } = splitVerbs(argv, OPTIONS);
  if (verbs.length > 1) throw new CronError('SKT_CRON_OPTION', `two verbs: ${verbs[0]} and ${verbs[1]}`);
  out.verb = verbs[0];
  let parsed;
  try {
    parsed = nodeParseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CronError('SKT_CRON_OPTION', `${(err as Error).message.replace(/\. To specify .*$/s, '')} (see --help)`);
  }
  const v = parsed.values;
  for (const [flag, value] of Object.entries(v)) {
    if (typeof value === 'string' && value === '') throw new CronError('SKT_CRON_OPTION', `--${flag} needs a value`);
  }
  if (v.config !== undefined) out.config = v.config;
  if (v.verbose !== undefined) out.verbose = v.verbose;
  if (v['log-path'] !== undefined) out.logPath = v['log-path'];
  if (v['var-path'] !== undefined) out.varPath = v['var-path'];
  const pname = v['process-display-name'] ?? v.pname;
  if (pname !== undefined) out.pname = pname;
  if (v.timezone !== undefined) out.timezone = v.timezone;
  if (v.seconds !== undefined) out.seconds = v.seconds;
  if (v.cwd !== undefined) out.cwd = v.cwd;
  if (v.lock !== undefined) out.lock = v.lock;
  if (v.help !== undefined) out.help = v.help;
  out.lines = parsed.positionals;
  return out;
}

/** Everything the scheduler and the daemon need, from the file and the command line. */
export interface CronSettings {
  configFile?: string;
  logPath?: string;
  varPath: string;
  pname: string;
  verbose: boolean;
  timezone?: string;
  seconds: boolean;
  cwd: string;
  jobs: Job[];
  lock?: ModuleFunction;
  pidFile: string;
  outFile: string;
}

export const DEFAULT_VAR_PATH = '/var/tmp/skitai/cron';
export const DEFAULT_PNAME = 'skitai-cron';

export function resolveSettings(args: CliArgs, cwd = process.cwd()): CronSettings {
  let configFile = args.config ? path.resolve(cwd, args.config) : undefined;
  if (!configFile) {
    const home = path.join(os.homedir(), '.skitai.conf');
    if (fs.existsSync(home)) configFile = home;
  }
  const ini: IniFile = configFile ? readIni(configFile) : { sections: {}, lists: {} };
  const base = configFile ? path.dirname(configFile) : cwd;
  const common = ini.sections.common ?? {};
  const section = ini.sections.cron ?? {};
  const fromFile = (key: string) => {
    const v = section[key] ?? common[key];
    return v === undefined || v === '' ? undefined : v;
  };
  const filePath = (key: string) => {
    const v = fromFile(key);
    return v === undefined ? undefined : path.resolve(base, v.replace(/^~(?=$|\/)/, os.homedir()));
  };
  const logPath = args.logPath ? path.resolve(cwd, args.logPath) : filePath('log-path');
  const varPath = args.varPath ? path.resolve(cwd, args.varPath) : (filePath('var-path') ?? DEFAULT_VAR_PATH);
  const pname = args.pname ?? fromFile('process-display-name') ?? DEFAULT_PNAME;
  if (!/^[\w.@+-]+$/.test(pname))
    throw new CronError(
      'SKT_CRON_OPTION',
      `process-display-name ${JSON.stringify(pname)}: use letters, digits, and . _ - @ +`,
    );
  const verbose = args.verbose ?? iniBoolean(fromFile('verbose'), `${configFile} [cron] verbose`) ?? false;
  const seconds = args.seconds ?? iniBoolean(fromFile('seconds'), `${configFile} [cron] seconds`) ?? false;
  const timezone = args.timezone ?? fromFile('timezone');
  const jobCwd = args.cwd ? path.resolve(cwd, args.cwd) : (filePath('cwd') ?? base);
  const lines = [...(ini.lists.crontab ?? []), ...args.lines];
  const jobs = normalizeJobs(lines, { cwd: jobCwd, seconds });
  const lock = args.lock ? normalizeLock(args.lock, cwd) : normalizeLock(fromFile('lock'), base);
  return {
    configFile,
    logPath,
    varPath,
    pname,
    verbose,
    timezone,
    seconds,
    cwd: jobCwd,
    jobs,
    lock,
    pidFile: path.join(varPath, `${pname}.pid`),
    outFile: path.join(logPath ?? varPath, `${pname}.out`),
  };
}

// ---- pid file ----------------------------------------------------------------------------

/** What this scheduler's command line holds: its title, or this file's name before the title is set. */
function marks(pname: string): string[] {
  return [pname, path.basename(fileURLToPath(import.meta.url))];
}

export function readPid(settings: Pick<CronSettings, 'pidFile' | 'pname'>): PidState {
  return readPidFile(settings.pidFile, marks(settings.pname));
}

function claimPidFile(settings: CronSettings): void {
  const st = readPid(settings);
  if (st.state === 'running' && st.pid !== process.pid)
    throw new CronError('SKT_CRON_OPTION', `already running (pid ${st.pid}, ${settings.pidFile})`);
  if (st.state === 'stale') fs.rmSync(settings.pidFile, { force: true });
  writePidFile(settings.pidFile);
}

function say(settings: Pick<CronSettings, 'pname'>, line: string): void {
  process.stdout.write(`${settings.pname}: ${line}\n`);
}

// ---- verbs ---------------------------------------------------------------------------------

/** Seconds a stopping scheduler gives running jobs before killing them. */
const STOP_GRACE_MS = 5000;

function waitGone(pid: number, pname: string, ms: number): Promise<boolean> {
  return waitForExit(pid, marks(pname), ms);
}

async function stop(settings: CronSettings): Promise<number> {
  const st = readPid(settings);
  if (st.state === 'none') {
    say(settings, 'not running');
    return 0;
  }
  if (st.state === 'stale') {
    fs.rmSync(settings.pidFile, { force: true });
    say(settings, `not running (removed a stale pid file for pid ${st.pid})`);
    return 0;
  }
  process.kill(st.pid, 'SIGTERM');
  if (!(await waitGone(st.pid, settings.pname, STOP_GRACE_MS + 10_000))) {
    say(settings, `pid ${st.pid} did not stop: killing it`);
    try {
      process.kill(-st.pid, 'SIGKILL');
    } catch {
      try {
        process.kill(st.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await waitGone(st.pid, settings.pname, 5000);
  }
  fs.rmSync(settings.pidFile, { force: true });
  say(settings, `stopped (pid ${st.pid})`);
  return 0;
}

async function startDaemon(settings: CronSettings, argv: readonly string[]): Promise<number> {
  const st = readPid(settings);
  if (st.state === 'running') {
    say(settings, `already running (pid ${st.pid})`);
    return 1;
  }
  if (st.state === 'stale') fs.rmSync(settings.pidFile, { force: true });
  fs.mkdirSync(path.dirname(settings.outFile), { recursive: true });
  fs.mkdirSync(path.dirname(settings.pidFile), { recursive: true });
  const started = await startDetached({
    args: [fileURLToPath(import.meta.url), ...splitVerbs(argv, OPTIONS).rest],
    outFile: settings.outFile,
    cwd: process.cwd(),
    env: { ...process.env, SKITAI_CRON_DAEMON: '1' },
    running: (pid) => {
      const now = readPid(settings);
      return now.state === 'running' && now.pid === pid;
    },
    waitMs: 15_000,
  });
  if (started.ok) {
    say(settings, `started (pid ${started.pid}); output in ${settings.outFile}`);
    return 0;
  }
  const { why: exited, tail } = started;
  process.stderr.write(`${settings.pname}: failed to start (${exited}); the end of ${settings.outFile}:\n${tail}\n`);
  return 1;
}

/** The foreground scheduler (also the daemon's own process). Resolves when it has stopped. */
async function runForeground(settings: CronSettings): Promise<number> {
  claimPidFile(settings);
  try {
    process.title = settings.pname;
  } catch {
    /* cosmetic */
  }
  const log = new CronLog({ logpath: settings.logPath, verbose: settings.verbose });
  keepGoing(log);
  const scheduler = new Scheduler(settings.jobs, {
    log,
    cwd: settings.cwd,
    timezone: settings.timezone,
    seconds: settings.seconds,
    lock: settings.lock,
  });
  scheduler.start();
  if (settings.jobs.length === 0) log.log('warn', 'cron: no jobs (add lines to the [:crontab] section)');
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.log('info', `cron: ${signal}: stopping`);
      scheduler.stop(STOP_GRACE_MS).then(
        () => {
          log.close();
          resolve(0);
        },
        () => resolve(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => log.log('info', 'cron: SIGHUP ignored (use restart to read the config again)'));
    process.on('SIGUSR1', () => log.reopen());
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs;
  let settings: CronSettings;
  try {
    args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    settings = resolveSettings(args);
  } catch (err) {
    process.stderr.write(`skitai-cron: ${(err as Error).message}\n`);
    return 2;
  }
  const check = () =>
    checkJobs(settings.jobs, {
      cwd: settings.cwd,
      seconds: settings.seconds,
      timezone: settings.timezone,
      lock: settings.lock,
    });
  try {
    switch (args.verb) {
      case 'status': {
        const st = readPid(settings);
        if (st.state === 'running') {
          say(settings, `running (pid ${st.pid})`);
          return 0;
        }
        say(settings, st.state === 'stale' ? `stopped (stale pid file for pid ${st.pid})` : 'stopped');
        return 3;
      }
      case 'stop':
        return await stop(settings);
      case 'restart':
        check();
        await stop(settings);
        return await startDaemon(settings, argv);
      case 'start':
        check();
        return await startDaemon(settings, argv);
      default:
        check();
        return await runForeground(settings);
    }
  } catch (err) {
    process.stderr.write(`${settings.pname}: ${(err as Error).message}\n`);
    return 1;
  }
}

// Run when executed (node cli.js, or the skitai-cron bin link), not when imported.
const invoked = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
if (invoked === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`skitai-cron: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
