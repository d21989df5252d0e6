#!/usr/bin/env node
// skitai-cron: the scheduler alone, from a Skitai config file.
//
//   skitai-cron -f ~/.skitai.conf            foreground
//   skitai-cron -f ~/.skitai.conf start|-d   as a daemon (a pid file in var-path)
//   skitai-cron -f ~/.skitai.conf status|stop|-s|restart|-r
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkJobs, CronError, normalizeJobs, normalizeLock, type Job, type ModuleFunction } from './jobs.js';
import { iniBoolean, readIni, type IniFile } from './ini.js';
import { CronLog } from './log.js';
import { Scheduler, keepGoing } from './scheduler.js';

type Verb = 'start' | 'stop' | 'restart' | 'status';

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

const VERBS: Record<string, Verb> = { start: 'start', '-d': 'start', stop: 'stop', '-s': 'stop', restart: 'restart', '-r': 'restart', status: 'status' };
const VALUED: Record<string, keyof CliArgs> = {
  '-f': 'config', '--config': 'config', '--log-path': 'logPath', '--var-path': 'varPath',
  '--pname': 'pname', '--process-display-name': 'pname', '--timezone': 'timezone', '--cwd': 'cwd', '--lock': 'lock',
};

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

export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { lines: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (Object.hasOwn(VALUED, flag)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new CronError('SKT_CRON_OPTION', `${flag} needs a value`);
      (out as unknown as Record<string, unknown>)[VALUED[flag]!] = value;
    } else if (flag === '-v' || flag === '--verbose') {
      out.verbose = eq > 0 ? iniBoolean(arg.slice(eq + 1), flag) : true;
    } else if (flag === '--seconds') {
      out.seconds = eq > 0 ? iniBoolean(arg.slice(eq + 1), flag) : true;
    } else if (flag === '-h' || flag === '--help') {
      out.help = true;
    } else if (Object.hasOwn(VERBS, flag)) {
      if (out.verb) throw new CronError('SKT_CRON_OPTION', `two verbs: ${out.verb} and ${flag}`);
      out.verb = VERBS[flag];
    } else if (flag.startsWith('-')) {
      throw new CronError('SKT_CRON_OPTION', `unknown option ${flag} (see --help)`);
    } else {
      out.lines.push(arg);
    }
  }
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
  const varPath = args.varPath ? path.resolve(cwd, args.varPath) : filePath('var-path') ?? DEFAULT_VAR_PATH;
  const pname = args.pname ?? fromFile('process-display-name') ?? DEFAULT_PNAME;
  if (!/^[\w.@+-]+$/.test(pname)) throw new CronError('SKT_CRON_OPTION', `process-display-name ${JSON.stringify(pname)}: use letters, digits, and . _ - @ +`);
  const verbose = args.verbose ?? iniBoolean(fromFile('verbose'), `${configFile} [cron] verbose`) ?? false;
  const seconds = args.seconds ?? iniBoolean(fromFile('seconds'), `${configFile} [cron] seconds`) ?? false;
  const timezone = args.timezone ?? fromFile('timezone');
  const jobCwd = args.cwd ? path.resolve(cwd, args.cwd) : filePath('cwd') ?? base;
  const lines = [...(ini.lists.crontab ?? []), ...args.lines];
  const jobs = normalizeJobs(lines, { cwd: jobCwd, seconds });
  const lock = args.lock ? normalizeLock(args.lock, cwd) : normalizeLock(fromFile('lock'), base);
  return {
    configFile, logPath, varPath, pname, verbose, timezone, seconds, cwd: jobCwd, jobs, lock,
    pidFile: path.join(varPath, `${pname}.pid`),
    outFile: path.join(logPath ?? varPath, `${pname}.out`),
  };
}

// ---- pid file ----------------------------------------------------------------------------

type PidState = { state: 'running'; pid: number } | { state: 'stale'; pid: number } | { state: 'none' };

/** Whether `pid` is alive and is this scheduler (a pid reused by another program is not). */
function isOurs(pid: number, pname: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return cmdline.includes(pname) || cmdline.includes(path.basename(fileURLToPath(import.meta.url)));
  } catch {
    return true; // no /proc: trust the signal
  }
}

export function readPid(settings: Pick<CronSettings, 'pidFile' | 'pname'>): PidState {
  let text: string;
  try { text = fs.readFileSync(settings.pidFile, 'utf8'); } catch { return { state: 'none' }; }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'stale', pid: 0 };
  return isOurs(pid, settings.pname) ? { state: 'running', pid } : { state: 'stale', pid };
}

function claimPidFile(settings: CronSettings): void {
  fs.mkdirSync(path.dirname(settings.pidFile), { recursive: true });
  const st = readPid(settings);
  if (st.state === 'running' && st.pid !== process.pid) throw new CronError('SKT_CRON_OPTION', `already running (pid ${st.pid}, ${settings.pidFile})`);
  if (st.state === 'stale') fs.rmSync(settings.pidFile, { force: true });
  fs.writeFileSync(settings.pidFile, `${process.pid}\n`);
  process.once('exit', () => {
    try {
      if (fs.readFileSync(settings.pidFile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(settings.pidFile);
    } catch { /* gone */ }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function say(settings: Pick<CronSettings, 'pname'>, line: string): void {
  process.stdout.write(`${settings.pname}: ${line}\n`);
}

// ---- verbs ---------------------------------------------------------------------------------

/** Seconds a stopping scheduler gives running jobs before killing them. */
const STOP_GRACE_MS = 5000;

async function waitGone(pid: number, pname: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isOurs(pid, pname)) return true;
    await sleep(50);
  }
  return !isOurs(pid, pname);
}

async function stop(settings: CronSettings): Promise<number> {
  const st = readPid(settings);
  if (st.state === 'none') { say(settings, 'not running'); return 0; }
  if (st.state === 'stale') {
    fs.rmSync(settings.pidFile, { force: true });
    say(settings, `not running (removed a stale pid file for pid ${st.pid})`);
    return 0;
  }
  process.kill(st.pid, 'SIGTERM');
  if (!(await waitGone(st.pid, settings.pname, STOP_GRACE_MS + 10_000))) {
    say(settings, `pid ${st.pid} did not stop: killing it`);
    try { process.kill(-st.pid, 'SIGKILL'); } catch { try { process.kill(st.pid, 'SIGKILL'); } catch { /* gone */ } }
    await waitGone(st.pid, settings.pname, 5000);
  }
  fs.rmSync(settings.pidFile, { force: true });
  say(settings, `stopped (pid ${st.pid})`);
  return 0;
}

async function startDaemon(settings: CronSettings, argv: readonly string[]): Promise<number> {
  const st = readPid(settings);
  if (st.state === 'running') { say(settings, `already running (pid ${st.pid})`); return 1; }
  if (st.state === 'stale') fs.rmSync(settings.pidFile, { force: true });
  fs.mkdirSync(path.dirname(settings.outFile), { recursive: true });
  fs.mkdirSync(path.dirname(settings.pidFile), { recursive: true });
  const out = fs.openSync(settings.outFile, 'a');
  const args = argv.filter((a) => !Object.hasOwn(VERBS, a));
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    detached: true,
    stdio: ['ignore', out, out],
    cwd: process.cwd(),
    env: { ...process.env, SKITAI_CRON_DAEMON: '1' },
  });
  fs.closeSync(out);
  let exited: string | undefined;
  child.once('exit', (code, signal) => { exited = signal ?? `exit code ${code}`; });
  const until = Date.now() + 15_000;
  while (Date.now() < until && exited === undefined) {
    const now = readPid(settings);
    if (now.state === 'running' && now.pid === child.pid) {
      child.unref();
      say(settings, `started (pid ${child.pid}); output in ${settings.outFile}`);
      return 0;
    }
    await sleep(50);
  }
  if (exited === undefined) {
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    exited = 'no pid file within 15 s';
  }
  let tail = '';
  try { tail = fs.readFileSync(settings.outFile, 'utf8').trimEnd().split('\n').slice(-5).join('\n'); } catch { /* none */ }
  process.stderr.write(`${settings.pname}: failed to start (${exited}); the end of ${settings.outFile}:\n${tail}\n`);
  return 1;
}

/** The foreground scheduler (also the daemon's own process). Resolves when it has stopped. */
async function runForeground(settings: CronSettings): Promise<number> {
  claimPidFile(settings);
  try { process.title = settings.pname; } catch { /* cosmetic */ }
  const log = new CronLog({ logpath: settings.logPath, verbose: settings.verbose });
  keepGoing(log);
  const scheduler = new Scheduler(settings.jobs, { log, cwd: settings.cwd, timezone: settings.timezone, seconds: settings.seconds, lock: settings.lock });
  scheduler.start();
  if (settings.jobs.length === 0) log.log('warn', 'cron: no jobs (add lines to the [:crontab] section)');
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.log('info', `cron: ${signal}: stopping`);
      scheduler.stop(STOP_GRACE_MS).then(() => { log.close(); resolve(0); }, () => resolve(1));
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
    if (args.help) { process.stdout.write(`${USAGE}\n`); return 0; }
    settings = resolveSettings(args);
  } catch (err) {
    process.stderr.write(`skitai-cron: ${(err as Error).message}\n`);
    return 2;
  }
  const check = () => checkJobs(settings.jobs, { cwd: settings.cwd, seconds: settings.seconds, timezone: settings.timezone, lock: settings.lock });
  try {
    switch (args.verb) {
      case 'status': {
        const st = readPid(settings);
        if (st.state === 'running') { say(settings, `running (pid ${st.pid})`); return 0; }
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
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`skitai-cron: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
