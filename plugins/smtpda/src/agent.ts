// The delivery agent: picks spooled mail, sends it with nodemailer, retries with a backoff,
// gives up after maxRetry retries, keeps what it gave up on keepDays days.
//
// At-least-once: a message leaves the spool only after the SMTP server answered 250 to its
// DATA. Before an attempt the file is renamed queue/ -> active/ (the attempt is counted on
// disk first, so a message that crashes the agent cannot loop for ever); on 250 it is
// unlinked at once, before anything else; on failure it goes back to queue/ with a later due
// time. An agent that starts finds what a dead one left in active/ and sends it again: only
// those messages (at most `concurrency` of them per crash) can arrive twice, and they carry
// the same Message-ID both times.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { AgentLog } from './log.js';
import { SpoolLock } from './lock.js';
import { parseServer } from './server-address.js';
import {
  DEFAULT_SPOOL,
  ensureSpool,
  entryName,
  listEntries,
  newMessageId,
  readMessage,
  spoolPath,
  enqueueMessage,
  type SmtpSettings,
  type SpoolEntry,
  type SpoolMessage,
} from './spool.js';
import process from 'node:process';

export interface AgentOptions {
  /** The spool folder (default /tmp/skitai/smtpda, as Skitai's). */
  spool?: string;
  /** Default SMTP server "host[:port]" for messages that did not call setSmtp(). */
  server?: string;
  user?: string;
  password?: string;
  /** Implicit TLS (port 465 by default); otherwise STARTTLS when the server offers it. */
  ssl?: boolean;
  /** Retries after the first attempt before a message is undeliverable (default 10). */
  maxRetry?: number;
  /** Days an undeliverable message is kept (default 3). */
  keepDays?: number;
  /** Seconds before the first retry (default 60); doubles each retry up to maxRetryDelay. */
  retryDelay?: number;
  /** Largest delay between retries in seconds (default 3600). */
  maxRetryDelay?: number;
  /** Seconds between scans of the spool (default 1; new mail is also seen at once by fs.watch). */
  pollInterval?: number;
  /** Messages sent at the same time (default 1): also the most duplicates a crash can cause. */
  concurrency?: number;
  /** SMTP connection, greeting and socket timeouts in seconds (default 30). */
  timeout?: number;
  /** More nodemailer SMTP options (tls, ignoreTLS, requireTLS, name, logger ...). */
  transport?: Record<string, unknown>;
  /** Folder for smtpda.log; without it the log goes to stderr. */
  logPath?: string;
  /** With logPath: copy the log to stdout. */
  verbose?: boolean;
}

export interface ResolvedAgentOptions {
  spool: string;
  smtp: SmtpSettings | undefined;
  maxRetry: number;
  keepDays: number;
  retryDelay: number;
  maxRetryDelay: number;
  pollInterval: number;
  concurrency: number;
  timeout: number;
  transport: Record<string, unknown>;
  logPath: string | undefined;
  verbose: boolean;
}

function num(name: string, value: unknown, fallback: number, min: number, integer = false): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `smtpda: invalid ${name}: ${JSON.stringify(value)} (expected ${integer ? 'a whole number' : 'a number'} >= ${min})`,
    );
  }
  return value;
}

export function resolveAgentOptions(o: AgentOptions = {}): ResolvedAgentOptions {
  const server = o.server?.trim();
  if (server) parseServer(server, o.ssl);
  return {
    spool: path.resolve(o.spool ?? DEFAULT_SPOOL),
    smtp: server ? { server, user: o.user || undefined, password: o.password || undefined, ssl: !!o.ssl } : undefined,
    maxRetry: num('maxRetry', o.maxRetry, 10, 0, true),
    keepDays: num('keepDays', o.keepDays, 3, 0),
    retryDelay: num('retryDelay', o.retryDelay, 60, 0),
    maxRetryDelay: num('maxRetryDelay', o.maxRetryDelay, 3600, 0),
    pollInterval: num('pollInterval', o.pollInterval, 1, 0.01),
    concurrency: num('concurrency', o.concurrency, 1, 1, true),
    timeout: num('timeout', o.timeout, 30, 0.1),
    transport: { ...(o.transport ?? {}) },
    logPath: o.logPath,
    verbose: !!o.verbose,
  };
}

/** Delay before retry number `attempts` (1 = the first retry), in ms. */
export function retryDelayMs(o: Pick<ResolvedAgentOptions, 'retryDelay' | 'maxRetryDelay'>, attempts: number): number {
  return Math.min(o.maxRetryDelay, o.retryDelay * 2 ** Math.max(0, attempts - 1)) * 1000;
}

type Transport = ReturnType<typeof nodemailer.createTransport>;

function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string; responseCode?: number; response?: string };
  const parts = [
    e.responseCode ? `${e.responseCode}` : '',
    e.code ?? '',
    (e.response ?? e.message ?? String(err)).replace(/\s+/g, ' ').trim(),
  ];
  return parts.filter(Boolean).join(' ');
}

export interface AgentStats {
  delivered: number;
  failedAttempts: number;
  undeliverable: number;
  recovered: number;
}

/** The delivery agent of one spool. `start()` returns once it delivers (or waits on standby). */
export class DeliveryAgent {
  readonly options: ResolvedAgentOptions;
  readonly log: AgentLog;
  readonly stats: AgentStats = { delivered: 0, failedAttempts: 0, undeliverable: 0, recovered: 0 };
  private readonly lock: SpoolLock;
  private readonly transports = new Map<string, Transport>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private pending: SpoolEntry[] = [];
  private dirty = true;
  private pumping = false;
  private again = false;
  private state: 'idle' | 'standby' | 'running' | 'stopped' = 'idle';
  private watcher: fs.FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private dueAt = 0;
  private lastPurge = 0;
  private standbyLogged = false;

  constructor(options: AgentOptions = {}) {
    this.options = resolveAgentOptions(options);
    this.log = new AgentLog(this.options.logPath, this.options.verbose);
    this.lock = new SpoolLock(path.join(this.options.spool, 'agent.lock'));
  }

  get running(): boolean {
    return this.state === 'running';
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    ensureSpool(this.options.spool);
    this.state = 'standby';
    // A spool the agent cannot read, lock or clean (EACCES, a folder gone) is logged and
    // tried again at the next poll: it must not end the agent as an unhandled rejection.
    this.pollTimer = setInterval(() => {
      this.tick().catch((err) => this.log.error(`spool poll failed: ${(err as Error).message}`));
    }, this.options.pollInterval * 1000);
    await this.tick();
  }

  private async tick(): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.state === 'standby') {
      const got = this.lock.tryAcquire();
      if (!got.ok) {
        if (!this.standbyLogged)
          this.log.info(`standby: the spool ${this.options.spool} has an agent already (pid ${got.pid})`);
        this.standbyLogged = true;
        return;
      }
      await this.begin();
      return;
    }
    if (!this.lock.owns()) {
      this.log.warn(`the lock ${this.lock.file} is no longer ours: standby`);
      this.state = 'standby';
      this.standbyLogged = false;
      this.watcher?.close();
      this.watcher = undefined;
      return;
    }
    if (Date.now() - this.lastPurge > 3600_000) await this.purge();
    this.dirty = true;
    void this.pump();
  }

  private async begin(): Promise<void> {
    const o = this.options;
    this.state = 'running';
    this.log.info(
      `agent pid ${process.pid} delivers from ${o.spool} (server ${o.smtp ? o.smtp.server : 'per message'}, maxRetry ${o.maxRetry}, keepDays ${o.keepDays}, concurrency ${o.concurrency})`,
    );
    await this.recover();
    if (this.state !== 'running') return;
    await this.purge();
    if (this.state !== 'running') return;
    try {
      this.watcher = fs.watch(spoolPath(o.spool, 'queue'), () => this.kick());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      /* polling alone */
    }
    this.kick();
  }

  /** What a dead agent left in active/ goes back to the queue (counted attempts kept). */
  private async recover(): Promise<void> {
    const o = this.options;
    for (const e of await listEntries(o.spool, 'active')) {
      const from = spoolPath(o.spool, 'active', e.name);
      if (e.attempts > o.maxRetry) {
        await this.giveUp(
          e,
          from,
          await readMessage(from).catch(() => undefined),
          'the agent stopped during the last attempt',
        );
        continue;
      }
      await fsp
        .rename(from, spoolPath(o.spool, 'queue', entryName(e.id, e.attempts, Date.now())))
        .catch(() => undefined);
      this.stats.recovered++;
      this.log.warn(
        `${e.id}: was being sent (attempt ${e.attempts}) when the previous agent stopped: sending it again (the server may have it already; same Message-ID)`,
      );
    }
  }

  /** Undeliverable mail past keepDays, and tmp files a crashed writer left (older than an hour). */
  private async purge(): Promise<void> {
    const o = this.options;
    this.lastPurge = Date.now();
    const keepMs = o.keepDays * 86400_000;
    const dir = spoolPath(o.spool, 'undeliverable');
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const msg = /^(.+)\.msg$/.exec(name);
      const orphan = /^(.+)\.reason\.json$/.exec(name);
      if (orphan && names.includes(`${orphan[1]}.msg`)) continue; // handled with its message
      if (!msg && !orphan) continue;
      const file = path.join(dir, name);
      const reasonFile = msg ? path.join(dir, `${msg[1]}.reason.json`) : undefined;
      // The reason file is written when the message is given up: its time is the one that counts.
      const st =
        (reasonFile ? await fsp.stat(reasonFile).catch(() => undefined) : undefined) ??
        (await fsp.stat(file).catch(() => undefined));
      if (!st || Date.now() - st.mtimeMs < keepMs) continue;
      // The reason first: a message file never outlives its reason by a purge.
      if (reasonFile) await fsp.rm(reasonFile, { force: true });
      await fsp.rm(file, { force: true });
      if (msg) this.log.info(`${msg[1]}: undeliverable for ${o.keepDays} days: removed`);
    }
    const tmp = spoolPath(o.spool, 'tmp');
    for (const name of await fsp.readdir(tmp).catch(() => [] as string[])) {
      const st = await fsp.stat(path.join(tmp, name)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 3600_000) await fsp.rm(path.join(tmp, name), { force: true });
    }
  }

  private kick(): void {
    this.dirty = true;
    if (this.state === 'running') setImmediate(() => void this.pump());
  }

  /** Claims due messages up to `concurrency` and starts sending them. Never rejects: it logs. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        if (this.state !== 'running') return;
        const o = this.options;
        if (this.dirty && this.inFlight.size < o.concurrency) {
          this.dirty = false;
          const now = Date.now();
          const all = await listEntries(o.spool, 'queue');
          this.pending = all.filter((e) => e.due <= now);
          const next = all.find((e) => e.due > now);
          if (next) this.wakeAt(next.due);
        }
        while (this.state === 'running' && this.inFlight.size < o.concurrency && this.pending.length > 0) {
          const e = this.pending.shift()!;
          if (this.inFlight.has(e.id)) continue;
          const attempts = e.attempts + 1;
          const activeName = entryName(e.id, attempts, e.due);
          try {
            await fsp.rename(spoolPath(o.spool, 'queue', e.name), spoolPath(o.spool, 'active', activeName));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // gone meanwhile
            throw err;
          }
          const job = this.deliver({ ...e, attempts, name: activeName })
            .catch((err) => this.log.error(`${e.id}: ${(err as Error).stack ?? err}`))
            .finally(() => {
              this.inFlight.delete(e.id);
              if (this.pending.length === 0) this.dirty = true;
              void this.pump();
            });
          this.inFlight.set(e.id, job);
        }
      } while (this.again);
    } catch (err) {
      this.log.error(`spool scan failed: ${(err as Error).message}`);
    } finally {
      this.pumping = false;
    }
  }

  private wakeAt(due: number): void {
    if (this.dueTimer && this.dueAt <= due) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueAt = due;
    this.dueTimer = setTimeout(
      () => {
        this.dueTimer = undefined;
        this.kick();
      },
      Math.max(0, due - Date.now()) + 5,
    );
  }

  private transportFor(smtp: SmtpSettings): Transport {
    const key = JSON.stringify([smtp.server, smtp.user ?? '', smtp.password ?? '', !!smtp.ssl]);
    let t = this.transports.get(key);
    if (!t) {
      const o = this.options;
      const { host, port, secure } = parseServer(smtp.server, smtp.ssl);
      const ms = o.timeout * 1000;
      t = nodemailer.createTransport({
        pool: true,
        maxConnections: o.concurrency,
        host,
        port,
        secure,
        connectionTimeout: ms,
        greetingTimeout: ms,
        socketTimeout: ms,
        ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
        ...o.transport,
      } as Parameters<typeof nodemailer.createTransport>[0] & { pool: true });
      this.transports.set(key, t);
    }
    return t;
  }

  private async deliver(e: SpoolEntry): Promise<void> {
    const o = this.options;
    const file = spoolPath(o.spool, 'active', e.name);
    let msg: SpoolMessage;
    try {
      msg = await readMessage(file);
    } catch (err) {
      await this.giveUp(e, file, undefined, `unreadable spool file: ${(err as Error).message}`);
      return;
    }
    const { header } = msg;
    const smtp = header.smtp ?? o.smtp;
    const tries = `attempt ${e.attempts} of ${o.maxRetry + 1}`;
    const to = header.envelope.to.join(', ');
    let info: { accepted?: unknown[]; rejected?: unknown[]; response?: string };
    try {
      if (!smtp) throw new Error('no SMTP server: give smtpda({ server }) / smtp-server, or call setSmtp()');
      info = await this.transportFor(smtp).sendMail({ envelope: header.envelope, raw: msg.raw });
    } catch (err) {
      this.stats.failedAttempts++;
      const why = describeError(err);
      if (e.attempts > o.maxRetry) {
        await this.giveUp(e, file, msg, why);
        return;
      }
      const delay = retryDelayMs(o, e.attempts);
      await fsp.rename(file, spoolPath(o.spool, 'queue', entryName(e.id, e.attempts, Date.now() + delay)));
      this.log.warn(
        `${e.id}: ${tries} to ${to} via ${smtp?.server ?? '-'} failed: ${why}; next try in ${(delay / 1000).toFixed(1)} s`,
      );
      return;
    }
    const rejected = (info.rejected ?? []).map(String);
    if (rejected.length > 0) {
      // Some recipients refused: they go back to the queue as a message of their own.
      const rest = { ...header, id: newMessageId(), envelope: { ...header.envelope, to: rejected } };
      const delay = retryDelayMs(o, e.attempts);
      await enqueueMessage(o.spool, rest, msg.raw, { attempts: e.attempts, due: Date.now() + delay });
    }
    // Accepted: out of the spool first, then the log line.
    await fsp.unlink(file);
    this.stats.delivered++;
    const accepted = (info.accepted ?? []).map(String).join(', ') || to;
    this.log.info(
      `${e.id}: delivered ${header.messageId} to ${accepted} via ${smtp.server}, ${tries}: ${(info.response ?? '').trim()}`,
    );
    if (rejected.length > 0)
      this.log.warn(`${e.id}: refused for ${rejected.join(', ')}: retried as a message of their own`);
  }

  private async giveUp(e: SpoolEntry, file: string, msg: SpoolMessage | undefined, why: string): Promise<void> {
    const dir = spoolPath(this.options.spool, 'undeliverable');
    const reason = {
      id: e.id,
      messageId: msg?.header.messageId,
      subject: msg?.header.subject,
      envelope: msg?.header.envelope,
      attempts: e.attempts,
      error: why,
      at: new Date().toISOString(),
    };
    await fsp.writeFile(path.join(dir, `${e.id}.reason.json`), JSON.stringify(reason, null, 2) + '\n', { mode: 0o600 });
    await fsp.rename(file, path.join(dir, `${e.id}.msg`));
    this.stats.undeliverable++;
    this.log.error(
      `${e.id}: undeliverable after ${e.attempts} attempts (to ${msg?.header.envelope.to.join(', ') ?? '?'}): ${why}; kept ${this.options.keepDays} days in ${dir}`,
    );
  }

  /** Stops taking mail, lets sends in flight finish (up to `graceMs`), releases the spool. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.watcher?.close();
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inFlight.values()]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      if (timer) clearTimeout(timer);
    }
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    if (wasRunning) {
      this.lock.release();
      this.log.info(
        `agent pid ${process.pid} stopped (${this.stats.delivered} delivered, ${this.stats.failedAttempts} failed attempts, ${this.stats.undeliverable} undeliverable)`,
      );
    }
    this.log.close();
  }
}
