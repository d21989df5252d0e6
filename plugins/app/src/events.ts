// App events (app.on / was.emit) and broadcasts across the apps mounted in one kernel.

export type Listener = (...args: any[]) => unknown;

/** The app life-cycle and request events of Skitai's docs, camelCased. */
export const AppEvents = {
  appStarting: 'appStarting',
  appStarted: 'appStarted',
  appRestarting: 'appRestarting',
  appRestarted: 'appRestarted',
  appMounted: 'appMounted',
  appUnmounting: 'appUnmounting',
  requestStarting: 'requestStarting',
  requestSuccess: 'requestSuccess',
  requestFailed: 'requestFailed',
  requestFinished: 'requestFinished',
  requestTearingDown: 'requestTearingDown',
  templateRendering: 'templateRendering',
  templateRendered: 'templateRendered',
} as const;

export class EventBus {
  private readonly listeners = new Map<string, Listener[]>();

  on(event: string, fn: Listener): void {
    const list = this.listeners.get(event);
    if (list) list.push(fn);
    else this.listeners.set(event, [fn]);
  }
  off(event: string, fn: Listener): void {
    const list = this.listeners.get(event);
    if (list)
      this.listeners.set(
        event,
        list.filter((f) => f !== fn),
      );
  }
  /** Number of events with listeners registered (0: every emit can be skipped). */
  get size(): number {
    return this.listeners.size;
  }
  has(event: string): boolean {
    return (this.listeners.get(event)?.length ?? 0) > 0;
  }
  /** Calls the listeners in order and waits for those that return promises. */
  async emit(event: string, args: unknown[]): Promise<void> {
    const list = this.listeners.get(event);
    if (!list) return;
    for (const fn of list) await fn(...args);
  }
  clear(): void {
    this.listeners.clear();
  }
}
