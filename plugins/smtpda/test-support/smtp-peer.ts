// A real SMTP server for the tests: the `smtp-server` package, in this process, on 127.0.0.1.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { parseMime, type MimePart } from './mime.js';

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  mime: MimePart;
  messageId: string;
  subject: string;
  at: number;
}

export interface PeerOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Refuse every recipient with this SMTP reply (e.g. "550 no such user"). */
  rejectRcpt?: (address: string) => string | undefined;
  /** Hold each message this long before answering 250 to its DATA. */
  delayMs?: number;
  /** Called after a message is stored, before its 250 is sent (a test may kill the client here). */
  onStored?: (count: number) => void;
  /** Require this user and password. */
  auth?: { user: string; pass: string };
}

export class SmtpPeer {
  readonly messages: Received[] = [];
  readonly rcptRejections: string[] = [];
  readonly logins: string[] = [];
  port = 0;
  private server!: SMTPServer;
  private waiters = new Set<() => void>();

  static async start(options: PeerOptions = {}): Promise<SmtpPeer> {
    const peer = new SmtpPeer();
    await peer.listen(options);
    return peer;
  }

  private listen(options: PeerOptions): Promise<void> {
    this.server = new SMTPServer({
      authOptional: !options.auth,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (auth, _session, callback) => {
        if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
          this.logins.push(auth.username!);
          return callback(null, { user: auth.username });
        }
        return callback(new Error('535 bad credentials'));
      },
      onRcptTo: (address, _session, callback) => {
        const why = options.rejectRcpt?.(address.address);
        if (why) {
          this.rcptRejections.push(address.address);
          const err = new Error(why.replace(/^\d+\s*/, '')) as Error & { responseCode?: number };
          err.responseCode = Number(/^(\d{3})/.exec(why)?.[1] ?? 550);
          return callback(err);
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const accept = () => {
            const raw = Buffer.concat(chunks);
            const mime = parseMime(raw);
            this.messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
              mime,
              messageId: mime.header('message-id') ?? '',
              subject: mime.header('subject') ?? '',
              at: Date.now(),
            });
            options.onStored?.(this.messages.length);
            for (const w of [...this.waiters]) w();
            callback(null, 'queued by the test peer');
          };
          if (options.delayMs) setTimeout(accept, options.delayMs);
          else accept();
        });
      },
    });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(options.port ?? 0, '127.0.0.1', () => {
        this.server.off('error', reject);
        // A client killed with -9 resets its connection: expected here, not a failure.
        this.server.on('error', () => {});
        this.port = (this.server as unknown as { server: { address(): AddressInfo } }).server.address().port;
        resolve();
      });
    });
  }

  /** Resolves once `count` messages arrived (or rejects after `ms`). */
  waitForCount(count: number, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.messages.length >= count) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.messages.length} of ${count} messages arrived within ${ms} ms`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
