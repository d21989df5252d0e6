import fs from 'node:fs';
import path from 'node:path';

export interface LogSink {
  write(line: string): void;
  /** Reopen after an outside rotation (SIGUSR1 in the process model). */
  reopen(): void;
  close(): Promise<void>;
}

function dayStamp(date: Date): string {
  const y = date.getFullYear();
  const m = String(date.getMonth() + 1).padStart(2, '0');
  const d = String(date.getDate()).padStart(2, '0');
  return `${y}${m}${d}`;
}

function nextMidnight(now: number): number {
  const d = new Date(now);
  d.setHours(24, 0, 0, 0);
  return d.getTime();
}

/**
 * An append-only log file rotated daily: at the first write after midnight the current file
 * becomes `name.YYYYMMDD` (the day it holds) and a new one is opened. Writes are buffered by
 * the stream; nothing blocks the request path.
 */
export class DailyLogFile implements LogSink {
  private stream: fs.WriteStream;
  private rotateAt: number;
  private day: string;

  constructor(readonly file: string, now = Date.now()) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // A file left from an earlier day is rotated now, so each file holds one day.
    try {
      const mtime = fs.statSync(file).mtime;
      if (dayStamp(mtime) !== dayStamp(new Date(now))) this.renameAside(dayStamp(mtime));
    } catch { /* no file yet */ }
    this.stream = this.open();
    this.day = dayStamp(new Date(now));
    this.rotateAt = nextMidnight(now);
  }

  private open(): fs.WriteStream {
    // Opened now (not on the first write), so that a rotation can rename it at any moment;
    // buffered lines still land in the renamed file through the same descriptor.
    const stream = fs.createWriteStream(this.file, { fd: fs.openSync(this.file, 'a'), flags: 'a' });
    stream.on('error', (err) => process.stderr.write(`skitai: cannot write ${this.file}: ${err.message}\n`));
    return stream;
  }

  private renameAside(day: string): void {
    let target = `${this.file}.${day}`;
    for (let n = 1; fs.existsSync(target); n++) target = `${this.file}.${day}.${n}`;
    fs.renameSync(this.file, target);
  }

  write(line: string, now = Date.now()): void {
    if (now >= this.rotateAt) this.rotate(now);
    this.stream.write(line);
  }

  rotate(now = Date.now()): void {
    const old = this.stream;
    old.end();
    try { this.renameAside(this.day); } catch (err) {
      process.stderr.write(`skitai: cannot rotate ${this.file}: ${(err as Error).message}\n`);
    }
    this.stream = this.open();
    this.day = dayStamp(new Date(now));
    this.rotateAt = nextMidnight(now);
  }

  reopen(): void {
    this.stream.end();
    this.stream = this.open();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

export class ConsoleSink implements LogSink {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  write(line: string): void {
    this.out.write(line);
  }
  reopen(): void {}
  async close(): Promise<void> {}
}
