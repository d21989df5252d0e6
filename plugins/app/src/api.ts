// was.response.api(): a JSON container; fault() fills Skitai's error fields.

export class ApiResponse {
  data: Record<string, unknown>;
  constructor(data?: Record<string, unknown>) {
    this.data = data ? { ...data } : {};
  }
  set(key: string, value: unknown): this {
    this.data[key] = value;
    return this;
  }
  get(key: string): unknown {
    return this.data[key];
  }
  /** Sets Skitai's error fields: message, code, debug, more_info. */
  error(message: string, code = 20000, debug?: unknown, moreInfo?: unknown): this {
    this.data.message = message;
    this.data.code = code;
    if (debug !== undefined && debug !== null) this.data.debug = debug;
    if (moreInfo !== undefined && moreInfo !== null) this.data.more_info = moreInfo;
    return this;
  }
  /** An error with the traceback of `err` as a list of lines. */
  traceback(
    err: unknown,
    message = 'exception occurred, see traceback',
    code = 20000,
    debug?: unknown,
    moreInfo?: unknown,
  ): this {
    this.error(message, code, debug, moreInfo);
    this.data.traceback = String((err as Error)?.stack ?? err)
      .split('\n')
      .map((l) => l.trim());
    return this;
  }
  toJSON(): Record<string, unknown> {
    return this.data;
  }
}
