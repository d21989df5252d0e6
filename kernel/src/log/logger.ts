import path from 'node:path';
import { ConsoleSink, DailyLogFile, type LogSink, type Rotation } from './log-file.js';
import process from 'node:process';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** Folder for server.log, app.log and request.log. */
  logpath?: string;
  /** Also (or only, without logpath) to the console. */
  verbose?: boolean;
  /** Who renames the files at midnight (default 'self': this process is the only writer). */
  rotation?: Rotation;
}

class Tee implements LogSink {
  constructor(private readonly sinks: LogSink[]) {}
  write(line: string): void {
    for (const s of this.sinks) s.write(line);
  }
  reopen(): void {
    for (const s of this.sinks) s.reopen();
  }
  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.close()));
  }
}

function sinkFor(
  options: LoggerOptions,
  file: string,
  consoleStream: NodeJS.WritableStream | undefined,
  files: DailyLogFile[],
): LogSink | undefined {
  const sinks: LogSink[] = [];
  if (options.logpath) {
    const daily = new DailyLogFile(path.join(options.logpath, file), Date.now(), options.rotation ?? 'self');
    files.push(daily);
    sinks.push(daily);
  }
  if (consoleStream) sinks.push(new ConsoleSink(consoleStream));
  if (sinks.length === 0) return undefined;
  return sinks.length === 1 ? sinks[0] : new Tee(sinks);
}

function stamp(): string {
  const d = new Date();
  const p = (n: number) => (n < 10 ? '0' : '') + n;
  return `${d.getFullYear()}.${p(d.getMonth() + 1)}.${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The three logs: server, app and request. Without logpath the server log goes to stderr (a foreground
 * server tells what it does), and the request log only with -v; with logpath all go to
 * files, and -v copies them to the console.
 */
export class Logs {
  readonly server: LogSink;
  readonly app: LogSink;
  readonly request: LogSink | undefined;
  /** The folder of the log files, when they go to files. */
  readonly logpath: string | undefined;
  /** Whether the logs are copied to the console (-v, or verbose given to start/run). */
  readonly verbose: boolean;
  private readonly files: DailyLogFile[] = [];

  constructor(options: LoggerOptions = {}) {
    this.logpath = options.logpath;
    this.verbose = options.verbose === true;
    const console = options.verbose ? process.stdout : undefined;
    this.server = sinkFor(
      options,
      'server.log',
      console ?? (options.logpath ? undefined : process.stderr),
      this.files,
    )!;
    this.app = sinkFor(options, 'app.log', console ?? (options.logpath ? undefined : process.stderr), this.files)!;
    this.request = sinkFor(options, 'request.log', console, this.files);
  }

  log(sink: 'server' | 'app', level: LogLevel, message: string): void {
    this[sink].write(`${stamp()} [${level}] ${message}\n`);
  }

  /** Renames every log file to `name.YYYYMMDD` and opens new ones (the master's midnight, SIGUSR2). */
  rotate(now = Date.now()): void {
    for (const file of this.files) file.rotate(now);
  }

  reopen(): void {
    this.server.reopen();
    this.app.reopen();
    this.request?.reopen();
  }

  async close(): Promise<void> {
    await Promise.all([this.server.close(), this.app.close(), this.request?.close()]);
  }
}
