// @skitai/smtpda: was.email(...), an on-disk spool and a delivery process on nodemailer.
import { createRequire } from 'node:module';
import path from 'node:path';
import { checkOptionKeys, definePlugin, type Kernel, type Plugin } from '@skitai/kernel';
import { Email, type EmailContext } from './email.js';
import { resolveAgentOptions, type AgentOptions } from './agent.js';
import { smtpdaCodes } from './errors.js';
import { countSpool, DEFAULT_SPOOL, ensureSpool } from './spool.js';
import process from 'node:process';

export {
  Email,
  addressProblem,
  parseAddresses,
  type AttachmentOptions,
  type EmailContext,
  type Spooled,
} from './email.js';
export {
  DeliveryAgent,
  resolveAgentOptions,
  retryDelayMs,
  type AgentOptions,
  type ResolvedAgentOptions,
  type AgentStats,
} from './agent.js';
export {
  DEFAULT_SPOOL,
  SPOOL_FOLDERS,
  countSpool,
  decodeMessage,
  ensureSpool,
  listEntries,
  parseEntryName,
  readMessage,
  type SmtpSettings,
  type SpoolCounts,
  type SpoolEntry,
  type SpoolHeader,
  type SpoolMessage,
} from './spool.js';
export { SpoolLock } from './lock.js';
export { parseServer } from './server-address.js';
export { parseIni, readConfig, configToAgentOptions, type IniSections, type SmtpdaConfig } from './config.js';
export { smtpdaCodes, SmtpdaError } from './errors.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { name: string; version: string };

export const PLUGIN_NAME = '@skitai/smtpda';
/** The name of the background process the plugin registers. */
export const PROCESS_NAME = 'smtpda';

export type EmailFunction = (subject: string, from: string, to?: string | readonly string[]) => Email;

declare module '@skitai/kernel' {
  interface Was {
    /** Skitai's was.email(subject, from, to): build a message, then `send()` spools it. (@skitai/smtpda) */
    email: EmailFunction;
  }
}

export interface SmtpdaOptions extends AgentOptions {
  /**
   * Run the delivery agent as a background process of this server (default true). false:
   * this server only writes to the spool, a stand-alone `skitai-smtpda` delivers.
   */
  agent?: boolean;
  /** Flush each message to disk before send() resolves (default true). */
  fsync?: boolean;
  /** The agent process's restart backoff: first delay and largest delay, in seconds (1 and 60). */
  restartDelay?: number;
  maxRestartDelay?: number;
}

/** A mailer outside requests (scripts, cron jobs): `createMailer().email(subject, from, to).send()`. */
export function createMailer(options: { spool?: string; fsync?: boolean; requireSmtp?: boolean } = {}): {
  spool: string;
  email: EmailFunction;
} {
  const spool = path.resolve(options.spool ?? DEFAULT_SPOOL);
  ensureSpool(spool);
  const context: EmailContext = { spool, fsync: options.fsync, requireSmtp: options.requireSmtp };
  return { spool, email: (subject, from, to) => new Email(subject, from, to, context) };
}

// Every key SmtpdaOptions has (TypeScript keeps the two in step).
const OPTION_KEYS: Record<keyof SmtpdaOptions, true> = {
  agent: true,
  fsync: true,
  restartDelay: true,
  maxRestartDelay: true,
  spool: true,
  server: true,
  user: true,
  password: true,
  ssl: true,
  maxRetry: true,
  keepDays: true,
  retryDelay: true,
  maxRetryDelay: true,
  pollInterval: true,
  concurrency: true,
  timeout: true,
  transport: true,
  logPath: true,
  verbose: true,
};

function applySmtpda(kernel: Kernel, options: SmtpdaOptions): void {
  checkOptionKeys(PLUGIN_NAME, options, Object.keys(OPTION_KEYS));
  const password = options.password ?? process.env.SKITAI_SMTPDA_PASSWORD;
  const spool = kernel.abspath(options.spool ?? DEFAULT_SPOOL);
  const logPath = options.logPath === undefined ? undefined : kernel.abspath(options.logPath);
  const runAgent = options.agent !== false;
  let agentOptions: AgentOptions;
  try {
    // Checked here so that a bad option fails the server's start, not the agent later.
    resolveAgentOptions({ ...options, spool, logPath, password });
    agentOptions = {
      spool,
      logPath,
      server: options.server,
      user: options.user,
      ssl: options.ssl,
      maxRetry: options.maxRetry,
      keepDays: options.keepDays,
      retryDelay: options.retryDelay,
      maxRetryDelay: options.maxRetryDelay,
      pollInterval: options.pollInterval,
      concurrency: options.concurrency,
      timeout: options.timeout,
      transport: options.transport,
      verbose: options.verbose,
    };
  } catch (err) {
    throw smtpdaCodes.SKT_SMTPDA_OPTION('options', (err as Error).message, 'see the @skitai/smtpda README');
  }
  ensureSpool(spool);
  // One spool per server: the master (or the single process) reports it, not every worker.
  kernel.hooks.status.tap(PLUGIN_NAME, (sections) => {
    if (kernel.processRole === 'worker') return;
    const counts = countSpool(spool);
    sections.push({
      name: 'smtpda',
      title: 'Mail spool (smtpda)',
      data: { spool, agent: runAgent ? 'in this server' : 'stand-alone', ...counts },
      metrics: [
        {
          name: 'skitai_smtpda_spool_messages',
          help: 'Messages in the smtpda spool, by state.',
          type: 'gauge',
          samples: (['queued', 'active', 'undeliverable'] as const).map((state) => ({
            labels: { state },
            value: counts[state],
          })),
        },
      ],
    });
  });
  const context: EmailContext = { spool, fsync: options.fsync, requireSmtp: runAgent && !options.server?.trim() };
  kernel.extendWas(
    'email',
    () =>
      ((subject: string, from: string, to?: string | readonly string[]) =>
        new Email(subject, from, to, context)) as EmailFunction,
    PLUGIN_NAME,
  );
  if (runAgent) {
    kernel.registerProcess(PROCESS_NAME, new URL('./agent-main.js', import.meta.url), {
      options: agentOptions,
      env: password ? { SKITAI_SMTPDA_PASSWORD: password } : {},
      restartDelay: options.restartDelay,
      maxRestartDelay: options.maxRestartDelay,
    });
  }
}

/** The plugin, for `kernel.use(smtpdaPlugin, { ... })`. */
export const smtpdaPlugin: Plugin<SmtpdaOptions | undefined> = definePlugin<SmtpdaOptions | undefined>({
  name: PLUGIN_NAME,
  version: pkg.version,
  kernel: '^0.1.0',
  was: ['email'],
  apply(kernel, options) {
    applySmtpda(kernel, options ?? {});
  },
});

/**
 * Skitai's enable_smtpda: `kernel.use(smtpda({ server, user, password, ssl, maxRetry, keepDays, spool }))`.
 * Options given to kernel.use() as its second argument are merged over these.
 */
export function smtpda(options: SmtpdaOptions = {}): Plugin<SmtpdaOptions | undefined> {
  checkOptionKeys(PLUGIN_NAME, options, Object.keys(OPTION_KEYS));
  return definePlugin<SmtpdaOptions | undefined>({
    name: PLUGIN_NAME,
    version: pkg.version,
    kernel: '^0.1.0',
    was: ['email'],
    apply(kernel, more) {
      applySmtpda(kernel, { ...options, ...(more ?? {}) });
    },
  });
}

export default smtpda;
