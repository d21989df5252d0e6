// A first-come first-served lock: one SQLite connection runs one thing at a time, and a
// transaction keeps it until COMMIT or ROLLBACK (other calls wait rather than join it).
export class Lock {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  /** True when taken at once (no await needed). */
  tryAcquire(): boolean {
    if (this.held) return false;
    this.held = true;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }

  get waiting(): number {
    return this.waiters.length;
  }
}
