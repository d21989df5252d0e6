// Skitai's config file (Python configparser's INI dialect), the part the agent reads:
//
//   [common]
//   log-path = /var/log/skitai
//
//   [smtpda]
//   verbose = false
//   max-retry = 10
//   keep-days = 1
//   smtp-server = smtp.example.com:587
//   user = mailer
//   password = ...            (or password-env = NAME, or SKITAI_SMTPDA_PASSWORD in the environment)
//   ssl = true
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { smtpdaCodes } from './errors.js';
import type { AgentOptions } from './agent.js';
import process from 'node:process';

export type IniSections = Record<string, Record<string, string>>;

/**
 * configparser's dialect: `[section]`, `key = value` or `key: value`, `#` and `;` comment
 * lines, indented continuation lines, keys case-insensitive (lower-cased here), keys before
 * any section in "DEFAULT". Throws on a line it cannot read, with its number.
 */
export function parseIni(text: string, file = 'config'): IniSections {
  const out: IniSections = {};
  let section: Record<string, string> | undefined;
  let lastKey: string | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (/^\s*([#;].*)?$/.test(line)) {
      lastKey = undefined;
      return;
    }
    if (/^\s/.test(line) && lastKey !== undefined && section) {
      section[lastKey] = `${section[lastKey]}\n${line.trim()}`.replace(/^\n/, '');
      return;
    }
    const head = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (head) {
      const name = head[1]!.trim();
      section = out[name] ??= {};
      lastKey = undefined;
      return;
    }
    const kv = /^\s*([^=:\s][^=:]*?)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (!kv)
      throw smtpdaCodes.SKT_SMTPDA_CONFIG(
        file,
        `line ${i + 1} is neither [section] nor key = value: ${JSON.stringify(line)}`,
      );
    section ??= out.DEFAULT ??= {};
    lastKey = kv[1]!.toLowerCase();
    let value = kv[2]!;
    // An inline comment needs whitespace before it, as configparser's inline_comment_prefixes.
    value = value.replace(/\s+[#;].*$/, '');
    section[lastKey] = value;
  });
  return out;
}

export interface SmtpdaConfig {
  /** The agent's options, paths resolved against the config file's folder. */
  agent: AgentOptions;
  /** The daemon's pid file (default <spool>/smtpda.pid). */
  pidFile: string | undefined;
  /** Process title (process-display-name, default skitai-smtpda). */
  title: string;
}

const TRUE = new Set(['1', 'yes', 'true', 'on']);
const FALSE = new Set(['0', 'no', 'false', 'off', '']);

function bool(file: string, key: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw smtpdaCodes.SKT_SMTPDA_CONFIG(file, `${key} must be true or false, got ${JSON.stringify(value)}`);
}

function number(file: string, key: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw smtpdaCodes.SKT_SMTPDA_CONFIG(file, `${key} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

function pathIn(base: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const expanded = value === '~' || value.startsWith('~/') ? path.join(os.homedir(), value.slice(1)) : value;
  return path.resolve(base, expanded);
}

const KNOWN = new Set([
  'verbose',
  'max-retry',
  'keep-days',
  'smtp-server',
  'user',
  'password',
  'password-env',
  'ssl',
  'spool',
  'retry-delay',
  'max-retry-delay',
  'poll-interval',
  'concurrency',
  'timeout',
  'pid-file',
  'process-display-name',
  'log-path',
]);

/** The agent's settings from parsed sections (`file` names the source in errors; `env` for passwords). */
export function configToAgentOptions(
  sections: IniSections,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): SmtpdaConfig {
  const base = path.dirname(path.resolve(file));
  const common = { ...(sections.DEFAULT ?? {}), ...(sections.common ?? {}) };
  const s = { ...(sections.DEFAULT ?? {}), ...(sections.smtpda ?? {}) };
  if (!sections.smtpda) throw smtpdaCodes.SKT_SMTPDA_CONFIG(file, 'there is no [smtpda] section');
  for (const key of Object.keys(sections.smtpda)) {
    if (!KNOWN.has(key)) throw smtpdaCodes.SKT_SMTPDA_CONFIG(file, `unknown key ${JSON.stringify(key)} in [smtpda]`);
  }
  let password = s.password || undefined;
  if (s['password-env']) {
    const fromEnv = env[s['password-env']];
    if (fromEnv === undefined)
      throw smtpdaCodes.SKT_SMTPDA_CONFIG(file, `password-env names ${s['password-env']}, which is not set`);
    password = fromEnv;
  }
  if (env.SKITAI_SMTPDA_PASSWORD) password = env.SKITAI_SMTPDA_PASSWORD;
  const agent: AgentOptions = {
    spool: pathIn(base, s.spool),
    server: s['smtp-server'] || undefined,
    user: s.user || undefined,
    password,
    ssl: bool(file, 'ssl', s.ssl),
    maxRetry: number(file, 'max-retry', s['max-retry']),
    keepDays: number(file, 'keep-days', s['keep-days']),
    retryDelay: number(file, 'retry-delay', s['retry-delay']),
    maxRetryDelay: number(file, 'max-retry-delay', s['max-retry-delay']),
    pollInterval: number(file, 'poll-interval', s['poll-interval']),
    concurrency: number(file, 'concurrency', s.concurrency),
    timeout: number(file, 'timeout', s.timeout),
    logPath: pathIn(base, s['log-path'] ?? common['log-path']),
    verbose: bool(file, 'verbose', s.verbose),
  };
  for (const key of Object.keys(agent) as Array<keyof AgentOptions>) if (agent[key] === undefined) delete agent[key];
  return { agent, pidFile: pathIn(base, s['pid-file']), title: s['process-display-name'] || 'skitai-smtpda' };
}

/** Reads and checks a config file. */
export function readConfig(file: string, env: NodeJS.ProcessEnv = process.env): SmtpdaConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw smtpdaCodes.SKT_SMTPDA_CONFIG(
      file,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return configToAgentOptions(parseIni(text, file), file, env);
}
