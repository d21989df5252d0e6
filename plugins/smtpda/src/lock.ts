import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import process from 'node:process';

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): { pid: number; token: string } | undefined {
  try {
    const [pid, token] = fs.readFileSync(file, 'utf8').split('\n');
    return { pid: Number(pid), token: token ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * One agent per spool: `<spool>/agent.lock` holds the pid of the agent that delivers and a
 * random token. A lock whose pid is gone (kill -9) is taken over; a live one makes the next
 * agent wait on standby.
 */
export class SpoolLock {
  readonly token = randomBytes(8).toString('hex');
  private held = false;

  constructor(readonly file: string) {}

  /** The pid holding the lock, if any live process does. */
  static holder(file: string): number | undefined {
    const lock = readLock(file);
    return lock && alive(lock.pid) ? lock.pid : undefined;
  }

  tryAcquire(): { ok: true } | { ok: false; pid: number } {
    for (let i = 0; i < 5; i++) {
      try {
        const fd = fs.openSync(this.file, 'wx', 0o600);
        try {
          fs.writeSync(fd, `${process.pid}\n${this.token}\n`);
        } finally {
          fs.closeSync(fd);
        }
        this.held = true;
        return { ok: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const lock = readLock(this.file);
      if (!lock) continue; // removed meanwhile
      if (lock.token === '') {
        // Being written right now (open and write are two steps): young means busy.
        try {
          if (Date.now() - fs.statSync(this.file).mtimeMs < 5000) return { ok: false, pid: lock.pid || 0 };
        } catch {
          continue;
        }
      } else if (alive(lock.pid)) {
        return { ok: false, pid: lock.pid };
      }
      // Stale: move it aside (only one racer can), check it was the stale one, drop it.
      const aside = `${this.file}.stale-${this.token}`;
      try {
        fs.renameSync(this.file, aside);
      } catch {
        continue;
      }
      const moved = readLock(aside);
      if (moved && moved.token !== lock.token) {
        // Another agent took the lock between our read and rename: give it back.
        try {
          fs.linkSync(aside, this.file);
        } catch {
          /* a third one holds it now */
        }
      }
      fs.rmSync(aside, { force: true });
    }
    const lock = readLock(this.file);
    return { ok: false, pid: lock?.pid ?? 0 };
  }

  /** Still ours? (Someone removing the file by hand makes the agent step back.) */
  owns(): boolean {
    if (!this.held) return false;
    const lock = readLock(this.file);
    if (lock?.token === this.token) return true;
    this.held = false;
    return false;
  }

  release(): void {
    if (this.owns()) fs.rmSync(this.file, { force: true });
    this.held = false;
  }
}
