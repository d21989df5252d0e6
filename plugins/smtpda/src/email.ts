// was.email(subject, from, to): a message built in a handler and written to the spool.
// Every check happens in send(), before anything is written; the write is atomic and send()
// never talks to an SMTP server.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import addressparser from 'nodemailer/lib/addressparser';
import { smtpdaCodes } from './errors.js';
import { enqueueMessage, newMessageId, type SmtpSettings, type SpoolHeader } from './spool.js';
import { parseServer } from './server-address.js';
import { Buffer } from 'node:buffer';

/** Where and how an Email is spooled (the plugin or createMailer() provides it). */
export interface EmailContext {
  spool: string;
  /** True when no default SMTP server is known and the local agent delivers: setSmtp() is then required. */
  requireSmtp?: boolean;
  /** Flush the file and the folder before send() resolves (default true). */
  fsync?: boolean;
}

export interface AttachmentOptions {
  /** Content-ID for an inline image: the HTML refers to it as `<img src="cid:...">`. */
  cid?: string;
  /** File name shown to the reader (default: the file's own name). */
  name?: string;
  /** Content type (default: from the name). */
  mimetype?: string;
}

export interface Spooled {
  /** The spool id (also in the agent's log lines). */
  id: string;
  /** The Message-ID header: the same on every retry, so a receiver can spot a duplicate. */
  messageId: string;
}

const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9\u0080-\uffff-]{1,63}(?<!-)$/;
const IP_LITERAL = /^\[(IPv6:[0-9A-Fa-f:.]+|\d{1,3}(\.\d{1,3}){3})\]$/;

/** Why an address (the part between < and >) is not one, or undefined when it is fine. */
export function addressProblem(address: string): string | undefined {
  if (/[\r\n\0]/.test(address)) return 'it contains a line break or NUL';
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'it is not local@domain';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return 'the local part is longer than 64 characters';
  if (!LOCAL.test(local)) return `bad local part ${JSON.stringify(local)}`;
  if (IP_LITERAL.test(domain)) return undefined;
  if (domain.length > 253) return 'the domain is too long';
  if (!domain.split('.').every((label) => LABEL.test(label))) return `bad domain ${JSON.stringify(domain)}`;
  return undefined;
}

/** Parses one address field ("A <a@x>, b@y" or an array of those) into checked mailboxes. */
export function parseAddresses(
  field: string,
  value: string | readonly string[],
): Array<{ name: string; address: string }> {
  const items = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(items) && typeof items !== 'string')
    throw smtpdaCodes.SKT_SMTPDA_ADDRESS(field, value, 'expected a string or an array of strings');
  const out: Array<{ name: string; address: string }> = [];
  for (const item of items) {
    if (typeof item !== 'string') throw smtpdaCodes.SKT_SMTPDA_ADDRESS(field, item, 'not a string');
    if (/[\r\n\0]/.test(item)) throw smtpdaCodes.SKT_SMTPDA_ADDRESS(field, item, 'it contains a line break or NUL');
    if (item.trim() === '') continue;
    for (const box of addressparser(item, { flatten: true })) {
      const problem = addressProblem(box.address ?? '');
      if (problem) throw smtpdaCodes.SKT_SMTPDA_ADDRESS(field, box.address || item, problem);
      out.push({ name: box.name ?? '', address: box.address });
    }
  }
  return out;
}

interface Content {
  body: string | Buffer;
  mimetype: string;
  charset: string;
}

interface Attachment {
  file: string;
  options: AttachmentOptions;
}

/**
 * An e-mail message, Skitai's `was.email(subject, from, to)`:
 *
 *   await was.email('Hi', 'me@example.com', 'you@example.com')
 *     .addContent('<p>Hello<img src="cid:logo"></p>', 'text/html')
 *     .addAttachment('logo.png', { cid: 'logo' })
 *     .send();
 */
export class Email {
  private readonly recipients: Record<'to' | 'cc' | 'bcc', Array<string | readonly string[]>> = {
    to: [],
    cc: [],
    bcc: [],
  };
  private replyTo: string | undefined;
  private smtp: SmtpSettings | undefined;
  private readonly contents: Content[] = [];
  private readonly attachments: Attachment[] = [];
  private readonly headers: Array<[string, string]> = [];
  private sent = false;

  constructor(
    readonly subject: string,
    readonly from: string,
    to: string | readonly string[] | undefined,
    private readonly context: EmailContext,
  ) {
    if (to !== undefined && to !== null) this.recipients.to.push(to);
  }

  /** This message's own SMTP server ("host[:port]"); without it the agent's default is used. */
  setSmtp(server: string, user?: string, password?: string, ssl = false): this {
    this.smtp = { server, user: user || undefined, password: password || undefined, ssl: !!ssl };
    return this;
  }

  addTo(address: string | readonly string[]): this {
    this.recipients.to.push(address);
    return this;
  }
  addCc(address: string | readonly string[]): this {
    this.recipients.cc.push(address);
    return this;
  }
  addBcc(address: string | readonly string[]): this {
    this.recipients.bcc.push(address);
    return this;
  }
  setReplyTo(address: string): this {
    this.replyTo = address;
    return this;
  }

  /** An extra header (X-..., List-Unsubscribe, ...). */
  addHeader(name: string, value: string): this {
    this.headers.push([name, value]);
    return this;
  }

  /**
   * A body: 'text/plain' (the default) and 'text/html' become the text and HTML alternatives;
   * another text type (text/calendar, text/watch-html ...) is one more alternative. A second
   * body of the same type is appended to the first.
   */
  addContent(body: string | Buffer, mimetype = 'text/plain', charset = 'utf-8'): this {
    this.contents.push({ body, mimetype, charset });
    return this;
  }

  /** A file, attached; with `cid` an inline image the HTML shows by `cid:<cid>`. Read at send(). */
  addAttachment(file: string, options: AttachmentOptions = {}): this {
    this.attachments.push({ file, options: { ...options } });
    return this;
  }

  /** Checks everything, builds the message and writes it to the spool. Never waits for SMTP. */
  send(): Promise<Spooled> {
    // Synchronous checks: a handler that does not await still gets the error at this line.
    if (this.sent) throw smtpdaCodes.SKT_SMTPDA_SENT();
    const prepared = this.check();
    this.sent = true;
    return this.write(prepared);
  }

  private check() {
    if (typeof this.subject !== 'string')
      throw smtpdaCodes.SKT_SMTPDA_CONTENT(`the subject must be a string, got ${typeof this.subject}`);
    if (/[\r\n\0]/.test(this.subject)) throw smtpdaCodes.SKT_SMTPDA_CONTENT('the subject contains a line break or NUL');
    if (typeof this.from !== 'string' || this.from.trim() === '')
      throw smtpdaCodes.SKT_SMTPDA_ADDRESS('from', this.from, 'a sender is required');
    const from = parseAddresses('from', this.from);
    if (from.length !== 1) throw smtpdaCodes.SKT_SMTPDA_ADDRESS('from', this.from, 'exactly one sender is required');
    const fields = {
      to: this.recipients.to.flatMap((v) => parseAddresses('to', v)),
      cc: this.recipients.cc.flatMap((v) => parseAddresses('cc', v)),
      bcc: this.recipients.bcc.flatMap((v) => parseAddresses('bcc', v)),
    };
    if (fields.to.length + fields.cc.length + fields.bcc.length === 0) throw smtpdaCodes.SKT_SMTPDA_NO_RECIPIENT();
    const replyTo = this.replyTo === undefined ? undefined : parseAddresses('replyTo', this.replyTo);
    if (this.smtp) {
      try {
        parseServer(this.smtp.server, this.smtp.ssl);
      } catch (err) {
        throw smtpdaCodes.SKT_SMTPDA_OPTION('setSmtp server', this.smtp.server, (err as Error).message);
      }
    } else if (this.context.requireSmtp) {
      throw smtpdaCodes.SKT_SMTPDA_NO_SERVER();
    }
    for (const [name, value] of this.headers) {
      if (typeof name !== 'string' || !/^[!-9;-~]+$/.test(name))
        throw smtpdaCodes.SKT_SMTPDA_CONTENT(`bad header name ${JSON.stringify(name)}`);
      if (typeof value !== 'string' || /[\r\n\0]/.test(value))
        throw smtpdaCodes.SKT_SMTPDA_CONTENT(`header ${name}: the value must be one line`);
    }
    for (const c of this.contents) {
      if (typeof c.body !== 'string' && !Buffer.isBuffer(c.body))
        throw smtpdaCodes.SKT_SMTPDA_CONTENT(`a body must be a string or a Buffer, got ${typeof c.body}`);
      if (typeof c.mimetype !== 'string' || !/^text\/[A-Za-z0-9.+-]+$/i.test(c.mimetype)) {
        throw smtpdaCodes.SKT_SMTPDA_CONTENT(
          `a body's type must be text/<subtype>, got ${JSON.stringify(c.mimetype)} (files go in addAttachment)`,
        );
      }
    }
    const cids = new Set<string>();
    for (const a of this.attachments) {
      if (typeof a.file !== 'string' || a.file === '')
        throw smtpdaCodes.SKT_SMTPDA_ATTACHMENT(String(a.file), 'is not a file path');
      let stat: fs.Stats;
      try {
        stat = fs.statSync(a.file);
        fs.accessSync(a.file, fs.constants.R_OK);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw smtpdaCodes.SKT_SMTPDA_ATTACHMENT(
          a.file,
          code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`,
        );
      }
      if (!stat.isFile()) throw smtpdaCodes.SKT_SMTPDA_ATTACHMENT(a.file, 'is not a regular file');
      const cid = a.options.cid;
      if (cid !== undefined) {
        if (typeof cid !== 'string' || cid === '' || /[\s<>\r\n]/.test(cid))
          throw smtpdaCodes.SKT_SMTPDA_ATTACHMENT(a.file, `has a bad cid ${JSON.stringify(cid)}`);
        if (cids.has(cid)) throw smtpdaCodes.SKT_SMTPDA_ATTACHMENT(a.file, `uses cid ${JSON.stringify(cid)} twice`);
        cids.add(cid);
      }
    }
    return { from: from[0]!, ...fields, replyTo };
  }

  private async write(p: ReturnType<Email['check']>): Promise<Spooled> {
    const byType = new Map<string, string | Buffer>();
    for (const c of this.contents) {
      const type = c.mimetype.toLowerCase();
      const prev = byType.get(type);
      byType.set(
        type,
        prev === undefined ? c.body : Buffer.concat([Buffer.from(prev), Buffer.from('\n'), Buffer.from(c.body)]),
      );
    }
    const charsetOf = (type: string) =>
      this.contents.find((c) => c.mimetype.toLowerCase() === type)?.charset ?? 'utf-8';
    const alternatives = [...byType]
      .filter(([type]) => type !== 'text/plain' && type !== 'text/html')
      .map(([type, content]) => ({ content, contentType: `${type}; charset=${charsetOf(type)}` }));
    const attachments = await Promise.all(
      this.attachments.map(async (a) => {
        let content: Buffer;
        try {
          content = await fsp.readFile(a.file);
        } catch (err) {
          throw smtpdaCodes.SKT_SMTPDA_ATTACHMENT(
            a.file,
            `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
          );
        }
        return {
          content,
          filename: a.options.name ?? path.basename(a.file),
          ...(a.options.mimetype ? { contentType: a.options.mimetype } : {}),
          ...(a.options.cid ? { cid: a.options.cid } : {}),
        };
      }),
    );
    const id = newMessageId();
    const composer = new MailComposer({
      from: p.from,
      to: p.to.length ? p.to : undefined,
      cc: p.cc.length ? p.cc : undefined,
      bcc: p.bcc.length ? p.bcc : undefined,
      replyTo: p.replyTo,
      subject: this.subject,
      text: byType.get('text/plain'),
      html: byType.get('text/html'),
      alternatives: alternatives.length ? alternatives : undefined,
      attachments,
      headers: this.headers.length ? this.headers.map(([key, value]) => ({ key, value })) : undefined,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    const node = composer.compile();
    node.setHeader('X-Mailer', 'skitai-smtpda');
    const envelope = node.getEnvelope();
    const messageId = node.messageId();
    const raw = await node.build();
    const header: SpoolHeader = {
      v: 1,
      id,
      messageId,
      created: Date.now(),
      subject: this.subject,
      envelope: { from: envelope.from || p.from.address, to: envelope.to },
      ...(this.smtp ? { smtp: this.smtp } : {}),
    };
    await enqueueMessage(this.context.spool, header, raw, { fsync: this.context.fsync });
    return { id, messageId };
  }
}
