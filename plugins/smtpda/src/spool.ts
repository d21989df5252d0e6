// The on-disk spool shared by the servers that enqueue and the one agent that delivers.
//
//   <spool>/tmp/            messages being written (never read by the agent)
//   <spool>/queue/          ready: <id>.<attempts>.<due ms>.msg
//   <spool>/active/         being sent right now: <id>.<attempts>.<due ms>.msg (attempt counted)
//   <spool>/undeliverable/  given up: <id>.msg and <id>.reason.json, kept keepDays
//   <spool>/agent.lock      the pid of the agent that delivers from this spool
//
// A message file is one JSON header line, then the RFC 5322 message exactly as it is sent.
// Every state change is a rename inside one file system, so it is atomic: a crash leaves each
// message in exactly one folder, whole.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import process from 'node:process';

/** Where the stand-alone agent and the plugin meet by default: Skitai's /tmp/skitai/smtpda. */
export const DEFAULT_SPOOL = path.join(os.tmpdir(), 'skitai', 'smtpda');

export const SPOOL_FOLDERS = ['tmp', 'queue', 'active', 'undeliverable'] as const;
export type SpoolFolder = (typeof SPOOL_FOLDERS)[number];

/** An SMTP server and its credentials. `server` is "host", "host:port" or "[v6]:port". */
export interface SmtpSettings {
  server: string;
  user?: string;
  password?: string;
  /** Implicit TLS (SMTPS, port 465 by default). Without it STARTTLS is used when offered. */
  ssl?: boolean;
}

export interface SpoolHeader {
  v: 1;
  id: string;
  messageId: string;
  /** ms since the epoch. */
  created: number;
  subject: string;
  envelope: { from: string; to: string[] };
  /** Set when the message chose its own server (`setSmtp`); otherwise the agent's default. */
  smtp?: SmtpSettings;
}

export interface SpoolMessage {
  header: SpoolHeader;
  raw: Buffer;
}

export interface SpoolEntry {
  id: string;
  /** Attempts made so far (an attempt is counted before it starts). */
  attempts: number;
  /** Not before this time (ms since the epoch). */
  due: number;
  name: string;
}

export function spoolPath(spool: string, folder: SpoolFolder, name = ''): string {
  return path.join(spool, folder, name);
}

/** Creates the spool's folders (0700: messages may carry SMTP passwords). */
export function ensureSpool(spool: string): void {
  for (const folder of SPOOL_FOLDERS) fs.mkdirSync(path.join(spool, folder), { recursive: true, mode: 0o700 });
}

/** Time-sortable, unique across processes and machines sharing a spool. */
export function newMessageId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${process.pid.toString(36)}-${randomBytes(5).toString('hex')}`;
}

export function entryName(id: string, attempts: number, due: number): string {
  return `${id}.${attempts}.${Math.floor(due)}.msg`;
}

export function parseEntryName(name: string): SpoolEntry | undefined {
  const m = /^([0-9a-z]+-[0-9a-z]+-[0-9a-f]+)\.(\d+)\.(\d+)\.msg$/.exec(name);
  if (!m) return undefined;
  return { id: m[1]!, attempts: Number(m[2]), due: Number(m[3]), name };
}

export function encodeMessage(header: SpoolHeader, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), raw]);
}

export function decodeMessage(data: Buffer): SpoolMessage {
  const nl = data.indexOf(0x0a);
  if (nl < 0) throw new Error('not a spool message (no header line)');
  const header = JSON.parse(data.subarray(0, nl).toString('utf8')) as SpoolHeader;
  if (header.v !== 1 || typeof header.id !== 'string' || !header.envelope)
    throw new Error('not a spool message (bad header)');
  return { header, raw: data.subarray(nl + 1) };
}

export async function readMessage(file: string): Promise<SpoolMessage> {
  return decodeMessage(await fsp.readFile(file));
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    /* some file systems cannot fsync a folder */
  } finally {
    await fh?.close();
  }
}

/**
 * Writes a message into tmp/, flushes it, then renames it into queue/: the agent sees either
 * nothing or the whole message. Returns the queue file name.
 */
export async function enqueueMessage(
  spool: string,
  header: SpoolHeader,
  raw: Buffer,
  options: { fsync?: boolean; attempts?: number; due?: number } = {},
): Promise<string> {
  const name = entryName(header.id, options.attempts ?? 0, options.due ?? header.created);
  const tmp = spoolPath(spool, 'tmp', name);
  const data = encodeMessage(header, raw);
  const fh = await fsp.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    if (options.fsync !== false) await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, spoolPath(spool, 'queue', name));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  if (options.fsync !== false) await fsyncDir(spoolPath(spool, 'queue'));
  return name;
}

/** The entries of one folder, oldest due first; foreign files are skipped. */
export async function listEntries(spool: string, folder: 'queue' | 'active'): Promise<SpoolEntry[]> {
  let names: string[];
  try {
    names = await fsp.readdir(spoolPath(spool, folder));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: SpoolEntry[] = [];
  for (const name of names) {
    const e = parseEntryName(name);
    if (e) out.push(e);
  }
  out.sort((a, b) => a.due - b.due || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

export interface SpoolCounts {
  queued: number;
  active: number;
  undeliverable: number;
}

/** How many messages are in each state (for `status` and tests). */
export function countSpool(spool: string): SpoolCounts {
  const count = (folder: SpoolFolder, suffix: RegExp) => {
    try {
      return fs.readdirSync(spoolPath(spool, folder)).filter((n) => suffix.test(n)).length;
    } catch {
      return 0;
    }
  };
  return {
    queued: count('queue', /\.\d+\.\d+\.msg$/),
    active: count('active', /\.\d+\.\d+\.msg$/),
    undeliverable: count('undeliverable', /^[^.]+\.msg$/),
  };
}
