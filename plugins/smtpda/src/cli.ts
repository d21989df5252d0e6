#!/usr/bin/env node
// skitai-smtpda: the delivery agent alone, from Skitai's config file.
//
//   skitai-smtpda -f ~/.skitai.conf            in the foreground (-v: log to the console too)
//   skitai-smtpda -f ~/.skitai.conf start      as a daemon (also -d)
//   skitai-smtpda -f ~/.skitai.conf status     0 running, 3 stopped
//   skitai-smtpda -f ~/.skitai.conf stop       (also -s)
//   skitai-smtpda -f ~/.skitai.conf restart    (also -r)
//
// Command-line options win over the file: --smtp-server, --user, --ssl / --no-ssl,
// --max-retry, --keep-days, --spool, --log-path, --retry-delay, --max-retry-delay,
// --poll-interval, --concurrency, --timeout, --pid-file. The password comes from the file,
// from `password-env = NAME`, or from SKITAI_SMTPDA_PASSWORD.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DeliveryAgent, resolveAgentOptions, type AgentOptions } from './agent.js';
import { readConfig } from './config.js';
import { countSpool } from './spool.js';
import { SpoolLock } from './lock.js';

type Verb = 'start' | 'stop' | 'restart' | 'status';
const VERBS: Record<string, Verb> = { start: 'start', '-d': 'start', stop: 'stop', '-s': 'stop', restart: 'restart', '-r': 'restart', status: 'status' };

export interface CliArgs {
  config: string | undefined;
  verb: Verb | undefined;
  verbose: boolean;
  overrides: AgentOptions;
  pidFile: string | undefined;
  /** Internal: this process is the daemon started by `start`. */
  daemonChild: boolean;
  help: boolean;
}

const NUMERIC: Record<string, keyof AgentOptions> = {
  '--max-retry': 'maxRetry', '--keep-days': 'keepDays', '--retry-delay': 'retryDelay', '--max-retry-delay': 'maxRetryDelay',
  '--poll-interval': 'pollInterval', '--concurrency': 'concurrency', '--timeout': 'timeout',
};
const STRING: Record<string, keyof AgentOptions> = { '--smtp-server': 'server', '--user': 'user' };
const PATHS: Record<string, 'spool' | 'logPath'> = { '--spool': 'spool', '--log-path': 'logPath' };

export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { config: undefined, verb: undefined, verbose: false, overrides: {}, pidFile: undefined, daemonChild: false, help: false };
  const o = out.overrides as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '-f' || flag === '--config') out.config = path.resolve(value());
    else if (flag === '-v' || flag === '--verbose') out.verbose = true;
    else if (flag === '-h' || flag === '--help') out.help = true;
    else if (flag === '--ssl') o.ssl = true;
    else if (flag === '--no-ssl') o.ssl = false;
    else if (flag === '--pid-file') out.pidFile = path.resolve(value());
    else if (flag === '--daemon-child') out.daemonChild = true;
    else if (flag in NUMERIC) {
      const text = value();
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) throw new Error(`${flag} needs a number, got ${JSON.stringify(text)}`);
      o[NUMERIC[flag]!] = n;
    } else if (flag in STRING) o[STRING[flag]!] = value();
    else if (flag in PATHS) o[PATHS[flag]!] = path.resolve(value());
    else if (VERBS[flag] !== undefined) out.verb = VERBS[flag];
    else throw new Error(`unknown argument ${JSON.stringify(arg)}`);
  }
  return out;
}

const USAGE = `usage: skitai-smtpda -f <config> [start|-d|stop|-s|restart|-r|status] [-v]
  -f, --config <file>   Skitai config file ([common] log-path; [smtpda] smtp-server, user, password, ssl, max-retry, keep-days ...)
  -d, start             run as a daemon            -s, stop      stop the daemon
  -r, restart           stop, then start           status        0 running, 3 stopped
  -v, --verbose         log to the console too
  overrides: --smtp-server host:port --user name --ssl|--no-ssl --max-retry n --keep-days n --spool dir
             --log-path dir --retry-delay s --max-retry-delay s --poll-interval s --concurrency n --timeout s --pid-file file
  password: in the file, by password-env = NAME, or SKITAI_SMTPDA_PASSWORD in the environment
`;

function say(text: string): void {
  process.stdout.write(`skitai-smtpda: ${text}\n`);
}

let processTitle = 'skitai-smtpda';

function isAgent(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A recycled pid is not our daemon.
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('smtpda') || cmd.includes('skitai') || cmd.includes(processTitle);
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAgent(pid)) return true;
    await sleep(50);
  }
  return !isAgent(pid);
}

interface Setup {
  agent: AgentOptions;
  pidFile: string;
  title: string;
}

function setup(args: CliArgs): Setup {
  const fromFile = args.config ? readConfig(args.config) : { agent: {}, pidFile: undefined, title: 'skitai-smtpda' };
  const agent: AgentOptions = { ...fromFile.agent, ...args.overrides };
  if (!agent.password && process.env.SKITAI_SMTPDA_PASSWORD) agent.password = process.env.SKITAI_SMTPDA_PASSWORD;
  if (args.verbose) agent.verbose = true;
  const resolved = resolveAgentOptions(agent); // validates
  agent.spool = resolved.spool;
  processTitle = fromFile.title;
  return { agent, pidFile: args.pidFile ?? fromFile.pidFile ?? path.join(resolved.spool, 'smtpda.pid'), title: fromFile.title };
}

async function foreground(s: Setup, daemon: boolean): Promise<number> {
  try { process.title = s.title; } catch { /* cosmetic */ }
  const running = readPid(s.pidFile);
  if (running !== undefined && running !== process.pid && isAgent(running)) {
    process.stderr.write(`skitai-smtpda: already running (pid ${running}, ${s.pidFile})\n`);
    return 1;
  }
  const agent = new DeliveryAgent(s.agent);
  fs.mkdirSync(path.dirname(s.pidFile), { recursive: true });
  // Signals first: a stop asked for while the agent starts is still a clean stop.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    agent.log.info(`${signal}: stopping`);
    agent.stop().finally(() => {
      if (readPid(s.pidFile) === process.pid) fs.rmSync(s.pidFile, { force: true });
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => { if (daemon) agent.log.reopen(); });
  process.on('SIGUSR1', () => agent.log.reopen());
  await agent.start();
  if (!stopping) fs.writeFileSync(s.pidFile, `${process.pid}\n`);
  return new Promise<number>(() => { /* runs until a signal */ });
}

async function stopDaemon(s: Setup): Promise<number> {
  const pid = readPid(s.pidFile);
  if (pid === undefined || !isAgent(pid)) {
    if (pid !== undefined) fs.rmSync(s.pidFile, { force: true });
    say(pid === undefined ? 'not running' : `not running (removed a stale pid file for pid ${pid})`);
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, 15_000))) {
    say(`pid ${pid} did not stop within 15 s: killing it`);
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await waitGone(pid, 5000);
  }
  fs.rmSync(s.pidFile, { force: true });
  say(`stopped (pid ${pid})`);
  return 0;
}

async function startDaemon(s: Setup, argv: string[]): Promise<number> {
  const pid = readPid(s.pidFile);
  if (pid !== undefined && isAgent(pid)) {
    say(`already running (pid ${pid})`);
    return 1;
  }
  if (pid !== undefined) fs.rmSync(s.pidFile, { force: true });
  const outDir = s.agent.logPath ?? s.agent.spool!;
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, 'smtpda.out');
  const out = fs.openSync(outFile, 'a');
  const args = argv.filter((a) => VERBS[a] === undefined);
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args, '--daemon-child'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: process.env,
  });
  fs.closeSync(out);
  let exited: string | undefined;
  child.once('exit', (code, signal) => { exited = signal ?? `exit code ${code}`; });
  const until = Date.now() + 15_000;
  while (Date.now() < until && exited === undefined) {
    if (readPid(s.pidFile) === child.pid) {
      child.unref();
      say(`started (pid ${child.pid}); output in ${outFile}`);
      return 0;
    }
    await sleep(50);
  }
  if (exited === undefined) {
    try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
    exited = 'no answer within 15 s';
  }
  let tail = '';
  try { tail = fs.readFileSync(outFile, 'utf8').split('\n').slice(-8).join('\n'); } catch { /* none */ }
  process.stderr.write(`skitai-smtpda: failed to start (${exited}); the end of ${outFile}:\n${tail}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  let s: Setup;
  try {
    args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    s = setup(args);
  } catch (err) {
    process.stderr.write(`skitai-smtpda: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  switch (args.verb) {
    case 'status': {
      const pid = readPid(s.pidFile);
      const c = countSpool(s.agent.spool!);
      const holder = SpoolLock.holder(path.join(s.agent.spool!, 'agent.lock'));
      const counts = `${c.queued} queued, ${c.active} being sent, ${c.undeliverable} undeliverable in ${s.agent.spool}` +
        (holder !== undefined && holder !== pid ? `; the spool is served by another agent (pid ${holder})` : '');
      if (pid !== undefined && isAgent(pid)) {
        say(`running (pid ${pid}); ${counts}`);
        return 0;
      }
      say(`stopped${pid !== undefined ? ` (stale pid file for pid ${pid})` : ''}; ${counts}`);
      return 3;
    }
    case 'stop':
      return stopDaemon(s);
    case 'restart':
      await stopDaemon(s);
      return startDaemon(s, argv);
    case 'start':
      return startDaemon(s, argv);
    default:
      return foreground(s, args.daemonChild);
  }
}

// Run when executed (node dist/src/cli.js, or the skitai-smtpda bin link), not when imported.
const self = fileURLToPath(import.meta.url);
let invoked = process.argv[1] ? path.resolve(process.argv[1]) : '';
try { invoked = fs.realpathSync(invoked); } catch { /* keep */ }
if (invoked === self) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`skitai-smtpda: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
