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
import process from 'node:process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';
import { isLiveProcess, readPidFile, splitVerbs, startDetached, waitForExit, type Verb } from '@skitai/kernel/cli';
import { DeliveryAgent, resolveAgentOptions, type AgentOptions } from './agent.js';
import { readConfig } from './config.js';
import { countSpool } from './spool.js';
import { SpoolLock } from './lock.js';

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
  'max-retry': 'maxRetry',
  'keep-days': 'keepDays',
  'retry-delay': 'retryDelay',
  'max-retry-delay': 'maxRetryDelay',
  'poll-interval': 'pollInterval',
  concurrency: 'concurrency',
  timeout: 'timeout',
};
const STRING: Record<string, keyof AgentOptions> = { 'smtp-server': 'server', user: 'user' };
const PATHS: Record<string, 'spool' | 'logPath'> = { spool: 'spool', 'log-path': 'logPath' };

// node's util.parseArgs reads the options; splitVerbs takes the verbs (start, -d ...) out first.
const OPTIONS = {
  config: { type: 'string', short: 'f' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  ssl: { type: 'boolean' },
  'no-ssl': { type: 'boolean' },
  'pid-file': { type: 'string' },
  'daemon-child': { type: 'boolean' },
  ...Object.fromEntries(
    [...Object.keys(NUMERIC), ...Object.keys(STRING), ...Object.keys(PATHS)].map((k) => [k, { type: 'string' }]),
  ),
} as const satisfies ParseArgsConfig['options'];

export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = {
    config: undefined,
    verb: undefined,
    verbose: false,
    overrides: {},
    pidFile: undefined,
    daemonChild: false,
    help: false,
  };
  const o = out.overrides as Record<string, unknown>;
  const { verbs, rest } = splitVerbs(argv, OPTIONS);
  out.verb = verbs.at(-1);
  let parsed;
  try {
    parsed = nodeParseArgs({ args: rest, options: OPTIONS, allowPositionals: false, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const text = e.message.replace(/\. To specify .*$/s, '');
    throw new Error(
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
        ? `unknown argument: ${text}`
        : text,
      { cause: err },
    );
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (typeof v.config === 'string') out.config = path.resolve(v.config);
  if (v.verbose) out.verbose = true;
  if (v.help) out.help = true;
  if (v.ssl) o.ssl = true;
  if (v['no-ssl']) o.ssl = false;
  if (typeof v['pid-file'] === 'string') out.pidFile = path.resolve(v['pid-file']);
  if (v['daemon-child']) out.daemonChild = true;
  for (const [flag, key] of Object.entries(NUMERIC)) {
    const text = v[flag];
    if (typeof text !== 'string') continue;
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) throw new Error(`--${flag} needs a number, got ${JSON.stringify(text)}`);
    o[key] = n;
  }
  for (const [flag, key] of Object.entries(STRING)) if (typeof v[flag] === 'string') o[key] = v[flag];
  for (const [flag, key] of Object.entries(PATHS)) if (typeof v[flag] === 'string') o[key] = path.resolve(v[flag]);
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

/** What the agent's command line holds: its title, or the names of this package. A recycled pid is not our daemon. */
function marks(): string[] {
  return ['smtpda', 'skitai', processTitle];
}

function isAgent(pid: number): boolean {
  return isLiveProcess(pid, marks());
}

/** The pid in the file, whether or not it is still ours. */
function readPid(file: string): number | undefined {
  const st = readPidFile(file, marks());
  return st.state === 'none' || st.pid === 0 ? undefined : st.pid;
}

function waitGone(pid: number, ms: number): Promise<boolean> {
  return waitForExit(pid, marks(), ms);
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
  return {
    agent,
    pidFile: args.pidFile ?? fromFile.pidFile ?? path.join(resolved.spool, 'smtpda.pid'),
    title: fromFile.title,
  };
}

async function foreground(s: Setup, daemon: boolean): Promise<number> {
  try {
    process.title = s.title;
  } catch {
    /* cosmetic */
  }
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
    void agent.stop().finally(() => {
      if (readPid(s.pidFile) === process.pid) fs.rmSync(s.pidFile, { force: true });
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (daemon) agent.log.reopen();
  });
  process.on('SIGUSR1', () => agent.log.reopen());
  await agent.start();
  if (!stopping) fs.writeFileSync(s.pidFile, `${process.pid}\n`);
  return new Promise<number>(() => {
    /* runs until a signal */
  });
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
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
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
  const started = await startDetached({
    args: [fileURLToPath(import.meta.url), ...splitVerbs(argv, OPTIONS).rest, '--daemon-child'],
    outFile,
    running: (pid) => readPid(s.pidFile) === pid,
    waitMs: 15_000,
  });
  if (started.ok) {
    say(`started (pid ${started.pid}); output in ${outFile}`);
    return 0;
  }
  const { why: exited, tail } = started;
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
      const counts =
        `${c.queued} queued, ${c.active} being sent, ${c.undeliverable} undeliverable in ${s.agent.spool}` +
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
try {
  invoked = fs.realpathSync(invoked);
} catch {
  /* keep */
}
if (invoked === self) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`skitai-smtpda: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
