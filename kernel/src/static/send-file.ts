// Streams a byte range of a file to a response in large reads through a small pool of
// reusable buffers: 1 MiB is three reads, and no fresh 512 KiB allocation (mmap, page faults,
// GC of external memory) is made per chunk. One read, then one write, then the next read once
// the socket has taken the bytes: a buffer is never refilled while the socket may still hold it.
import fs from 'node:fs';
import type { SkitaiResponse } from '../http/response.js';
import { Buffer } from 'node:buffer';

/** Bytes per read. */
export const CHUNK = 512 * 1024;
/** Idle buffers kept for the next responses (at most 4 MiB). */
const POOL_MAX = 8;
const pool: Buffer[] = [];

function take(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

function give(buf: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

/**
 * Sends bytes `start`..`end` (inclusive) of `file` after the head already written. The response
 * is destroyed when the file cannot be read or turns out shorter than announced (it changed
 * under us): a client must not wait for bytes that will not come.
 */
export function sendFile(res: SkitaiResponse, file: string, start: number, end: number): void {
  let fd = -1;
  let buf: Buffer | undefined;
  let pos = start;
  let closed = false;
  // The fd may not be closed while a read uses it, nor the buffer reused while a read fills it
  // or the socket still holds it (a write whose callback has not come).
  let reading = true;
  let writing = false;

  const release = (): void => {
    if (fd !== -1 && !reading) {
      fs.close(fd, () => {});
      fd = -1;
    }
    if (buf !== undefined && !reading && !writing) {
      give(buf);
      buf = undefined;
    }
  };

  const fail = (): void => {
    release();
    if (!closed) res.destroy();
  };

  const onClose = (): void => {
    closed = true;
    release();
  };
  res.once('close', onClose);

  const onWritten = (err?: Error | null): void => {
    writing = false;
    if (err || closed) return fail();
    if (pos > end) {
      res.off('close', onClose);
      release();
      res.end();
      return;
    }
    readNext();
  };

  const onRead = (err: NodeJS.ErrnoException | null, n: number): void => {
    reading = false;
    if (err || closed || n === 0) return fail();
    pos += n;
    writing = true;
    res.write(n === buf!.length ? buf! : buf!.subarray(0, n), onWritten);
  };

  const readNext = (): void => {
    reading = true;
    fs.read(fd, buf!, 0, Math.min(buf!.length, end - pos + 1), pos, onRead);
  };

  fs.open(file, 'r', (err, opened) => {
    reading = false;
    if (err) return fail();
    fd = opened;
    if (closed) return release();
    buf = take();
    readNext();
  });
}
