import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

export type AgentLogLevel = 'info' | 'warn' | 'error';

function pad(n: number): string {
  return (n < 10 ? '0' : '') + n;
}

function day(d: Date): string {
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
}

function stamp(d: Date): string {
  return `${d.getFullYear()}.${pad(d.getMonth() + 1)}.${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * The agent's log, in the kernel's line format: `<date> <time> [level] message`. With a log
 * folder it goes to `smtpda.log` there (yesterday's file is renamed smtpda-YYYYMMDD.log), and
 * `verbose` copies it to stdout; without a folder it goes to stderr.
 */
export class AgentLog {
  private fd: number | undefined;
  private openDay = '';
  private readonly file: string | undefined;

  constructor(
    logPath: string | undefined,
    private readonly verbose = false,
  ) {
    if (logPath) {
      fs.mkdirSync(logPath, { recursive: true });
      this.file = path.join(logPath, 'smtpda.log');
    }
  }

  private rotate(now: Date): void {
    const today = day(now);
    if (this.fd !== undefined && this.openDay === today) return;
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    const file = this.file!;
    try {
      const st = fs.statSync(file);
      const fileDay = day(st.mtime);
      if (fileDay !== today) fs.renameSync(file, path.join(path.dirname(file), `smtpda-${fileDay}.log`));
    } catch {
      /* no file yet */
    }
    this.fd = fs.openSync(file, 'a', 0o640);
    this.openDay = today;
  }

  log(level: AgentLogLevel, message: string): void {
    const now = new Date();
    const line = `${stamp(now)} [${level}] ${message}\n`;
    if (this.file) {
      try {
        this.rotate(now);
        fs.writeSync(this.fd!, line);
      } catch (err) {
        process.stderr.write(`smtpda: cannot write ${this.file}: ${(err as Error).message}\n${line}`);
      }
      if (this.verbose) process.stdout.write(line);
    } else {
      process.stderr.write(line);
    }
  }

  info(message: string): void {
    this.log('info', message);
  }
  warn(message: string): void {
    this.log('warn', message);
  }
  error(message: string): void {
    this.log('error', message);
  }

  /** After logrotate moved the file (SIGUSR1). */
  reopen(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  close(): void {
    this.reopen();
  }
}
