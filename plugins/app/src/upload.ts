// Streaming multipart/form-data: fields go to args, files to a temporary folder. Limits are
// counted on the raw bytes (maxMultipartBodySize) and per file (maxUploadFileSize).
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { HttpError } from './http-error.js';
import { addArg, type Args } from './params.js';
import { checkDeclaredLength, tooLarge } from './body.js';

export interface SaveOptions {
  /** The file name in `dir` (default: the uploaded name). */
  name?: string;
  /** 'unique' (default) adds a counter when the name exists; 'overwrite' replaces it. */
  dup?: 'unique' | 'overwrite' | 'u' | 'o';
  /** Create `dir` when missing. */
  mkdir?: boolean;
}

export class UploadedFile {
  /** Where the file is now: a temporary path until save(). */
  path: string;
  /** The name the client gave (no folders). */
  readonly name: string;
  size = 0;
  readonly mimetype: string;
  readonly field: string;
  /** True after save() or remove(): the request's cleanup leaves it alone. */
  settled = false;

  constructor(tmpPath: string, name: string, mimetype: string, field: string) {
    this.path = tmpPath;
    this.name = name;
    this.mimetype = mimetype;
    this.field = field;
  }

  /** Moves the file into `dir`; returns the new path. */
  async save(dir: string, options: SaveOptions = {}): Promise<string> {
    if (options.mkdir) await fs.mkdir(dir, { recursive: true });
    const base = path.basename(options.name ?? (this.name || 'upload'));
    if (base === '' || base === '.' || base === '..') throw new TypeError(`invalid file name ${JSON.stringify(base)}`);
    let target = path.join(dir, base);
    const dup = options.dup ?? 'unique';
    if (dup === 'unique' || dup === 'u') {
      const ext = path.extname(base);
      const stem = base.slice(0, base.length - ext.length);
      for (let i = 1; await exists(target); i++) target = path.join(dir, `${stem}.${i}${ext}`);
    }
    try {
      await fs.rename(this.path, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await fs.copyFile(this.path, target);
      await fs.unlink(this.path);
    }
    this.path = target;
    this.settled = true;
    return target;
  }

  async remove(): Promise<void> {
    this.settled = true;
    await fs.rm(this.path, { force: true });
  }

  toJSON(): object {
    return { name: this.name, size: this.size, mimetype: this.mimetype };
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

export interface MultipartLimits {
  maxMultipartBodySize: number;
  maxUploadFileSize: number;
  /** Bytes of one text field (default 1 MB); a longer one is a 413, never silently cut. */
  maxFieldSize?: number;
  tmpdir?: string;
}

/** Parses a multipart body into args; the files it wrote are pushed to `files` at once. */
export async function parseMultipart(
  req: IncomingMessage,
  args: Args,
  files: UploadedFile[],
  limits: MultipartLimits,
): Promise<void> {
  checkDeclaredLength(req, limits.maxMultipartBodySize);
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      limits: { fileSize: limits.maxUploadFileSize, fieldSize: limits.maxFieldSize ?? 1024 * 1024 },
    });
  } catch (err) {
    throw new HttpError(400, `malformed multipart body: ${(err as Error).message}`);
  }
  const dir = limits.tmpdir ?? os.tmpdir();
  const writes: Promise<unknown>[] = [];
  let failure: HttpError | undefined;
  let size = 0;

  const streams: Array<{ destroy(): void }> = [];
  await new Promise<void>((resolve) => {
    // On a failure, stop reading and end the open file streams, then let the writes settle
    // so that no temporary file appears after the request's cleanup.
    const fail = (err: HttpError) => {
      if (failure) return;
      failure = err;
      req.unpipe(bb);
      req.pause();
      // Both ends of each file's pipeline: a busboy file stream destroyed alone leaves its
      // pipeline pending for ever (and the request with no answer).
      for (const s of streams) s.destroy();
      resolve();
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxMultipartBodySize) fail(tooLarge(limits.maxMultipartBodySize));
    });
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated)
        fail(
          new HttpError(413, `the field ${name} is longer than ${limits.maxFieldSize ?? 1024 * 1024} bytes`, {
            close: true,
          }),
        );
      else addArg(args, name, value);
    });
    bb.on('file', (name, stream, info) => {
      if (failure) {
        stream.resume();
        return;
      }
      const tmp = path.join(dir, `skitai-upload-${randomBytes(8).toString('hex')}`);
      const file = new UploadedFile(tmp, path.basename(info.filename ?? ''), info.mimeType, name);
      files.push(file);
      const out = createWriteStream(tmp);
      streams.push(out, stream);
      stream.on('data', (c: Buffer) => {
        file.size += c.length;
      });
      stream.on('limit', () =>
        fail(new HttpError(413, `an uploaded file is larger than ${limits.maxUploadFileSize} bytes`, { close: true })),
      );
      writes.push(
        pipeline(stream, out).catch((err) => {
          if (!failure) fail(new HttpError(400, `upload failed: ${(err as Error).message}`));
          return fs.rm(tmp, { force: true });
        }),
      );
      addArg(args, name, file);
    });
    bb.on('error', (err) => fail(new HttpError(400, `malformed multipart body: ${(err as Error).message}`)));
    bb.on('close', () => {
      if (!failure) resolve();
    });
    req.on('aborted', () => fail(new HttpError(400, 'the client aborted the request', { close: true })));
    req.pipe(bb);
  });
  await Promise.allSettled(writes);
  if (failure) throw failure;
}

/** Removes the temporary files a request left (called whatever happened). */
export async function cleanupUploads(files: UploadedFile[]): Promise<void> {
  await Promise.all(files.filter((f) => !f.settled).map((f) => fs.rm(f.path, { force: true }).catch(() => undefined)));
}
