import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

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

export function nextMidnight(now: number): number {
  const d = new Date(now);
  d.setHours(24, 0, 0, 0);
  return d.getTime();
}

/**
 * Who renames a file shared by processes: one writer only, or two processes would rename the
 * same file in turn (and each other's fresh file). `self`: a single process, at its first write
 * after midnight. `scheduled`: the master, when told (rotate(), from its midnight timer); it
 * then tells the workers to reopen. `never`: a worker, which only reopens.
 */
export type Rotation = 'self' | 'scheduled' | 'never';

/**
 * An append-only log file rotated daily: the current file becomes `name.YYYYMMDD` (the day it
 * holds) and a new one is opened. Writes are buffered by the stream; nothing blocks the
 * request path.
 */
export class DailyLogFile implements LogSink {
  private stream: fs.WriteStream;
  private rotateAt: number;
  private day: string;
  /** Old streams still flushing (after a rotation or reopen): close() waits for them. */
  private readonly ending = new Set<Promise<void>>();

  constructor(
    readonly file: string,
    now = Date.now(),
    readonly rotation: Rotation = 'self',
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // A file left from an earlier day is rotated now, so each file holds one day (by the
    // rotating process only: a worker starting later must not rename the master's file).
    if (rotation !== 'never') {
      try {
        const mtime = fs.statSync(file).mtime;
        if (dayStamp(mtime) !== dayStamp(new Date(now))) this.renameAside(dayStamp(mtime));
      } catch {
        /* no file yet */
      }
    }
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
    if (this.rotation === 'self' && now >= this.rotateAt) this.rotate(now);
    this.stream.write(line);
  }

  /** Renames the file to `name.YYYYMMDD` (the day it holds; `.1`, `.2` ... if taken) and opens a new one. */
  rotate(now = Date.now()): void {
    try {
      this.renameAside(this.day);
    } catch (err) {
      process.stderr.write(`skitai: cannot rotate ${this.file}: ${(err as Error).message}\n`);
    }
    this.replaceStream();
    this.day = dayStamp(new Date(now));
    this.rotateAt = nextMidnight(now);
  }

  reopen(): void {
    this.replaceStream();
  }

  private replaceStream(): void {
    // Lines buffered in the old stream still go to its descriptor (the renamed file).
    const old = this.stream;
    const ended = new Promise<void>((resolve) => old.end(resolve)).then(() => {
      this.ending.delete(ended);
    });
    this.ending.add(ended);
    this.stream = this.open();
  }

  async close(): Promise<void> {
    await Promise.all([new Promise<void>((resolve) => this.stream.end(resolve)), ...this.ending]);
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
