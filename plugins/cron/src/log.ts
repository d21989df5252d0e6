// The scheduler's log: `<logpath>/cron.log` and/or the console, one line an event, in the
// kernel's line format (`YYYY.MM.DD HH:MM:SS [level] message`).
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

export type CronLogLevel = 'info' | 'warn' | 'error';

export interface CronLogOptions {
  /** Folder for cron.log. */
  logpath?: string;
  /** Also to the console (stdout); without logpath the console is always used. */
  verbose?: boolean;
  /** File name inside logpath (default cron.log). */
  file?: string;
}

function stamp(d = new Date()): string {
  const p = (n: number) => (n < 10 ? '0' : '') + n;
  return `${d.getFullYear()}.${p(d.getMonth() + 1)}.${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * Lines are written synchronously: a cron log is small, and a line must be on disk before a
 * crash or a SIGKILL can lose it.
 */
export class CronLog {
  readonly file: string | undefined;
  private fd: number | undefined;
  private readonly console: boolean;

  constructor(options: CronLogOptions = {}) {
    this.console = options.verbose === true || !options.logpath;
    if (options.logpath) {
      this.file = path.join(options.logpath, options.file ?? 'cron.log');
      fs.mkdirSync(options.logpath, { recursive: true });
      this.fd = fs.openSync(this.file, 'a');
    }
  }

  log(level: CronLogLevel, message: string): void {
    const line = `${stamp()} [${level}] ${message}\n`;
    if (this.fd !== undefined) {
      try {
        fs.writeSync(this.fd, line);
      } catch {
        /* disk full or closed: the console may still tell */
      }
    }
    if (this.console) process.stdout.write(line);
  }

  /** After an outside rotation (SIGUSR1): write to a fresh file of the same name. */
  reopen(): void {
    if (this.file === undefined) return;
    const old = this.fd;
    this.fd = fs.openSync(this.file, 'a');
    if (old !== undefined) fs.closeSync(old);
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* closed */
      }
      this.fd = undefined;
    }
  }
}
