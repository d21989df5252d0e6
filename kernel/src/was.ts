import type { Kernel } from './kernel.js';
import type { SkitaiRequest } from './http/request.js';
import type { SkitaiResponse } from './http/response.js';

/**
 * The per-request service object. Features and plugins add members with
 * `kernel.extendWas(name, factory)` at run time and through declaration merging at type level:
 *
 *   declare module '@skitai/kernel' { interface Was { websocket: WebSocketService } }
 *
 * so `was.websocket` type-checks only where the plugin is imported.
 */
export interface Was {}
export class Was {
  constructor(
    readonly kernel: Kernel,
    readonly req: SkitaiRequest,
    readonly res: SkitaiResponse,
  ) {}
}

export type WasFactory<T> = (was: Was) => T;

interface Extension {
  owner: string;
}

/**
 * Builds the Was class of one kernel: a subclass whose prototype carries a lazy getter per
 * extension, so a request pays only for the members it touches.
 */
export class WasRegistry {
  readonly WasClass: typeof Was;
  private readonly extensions = new Map<string, Extension>();

  constructor() {
    this.WasClass = class KernelWas extends Was {};
  }

  define<T>(name: string, factory: WasFactory<T>, owner: string, onDuplicate: (first: string) => Error): void {
    const first = this.extensions.get(name);
    if (first || name in Was.prototype) throw onDuplicate(first?.owner ?? '@skitai/kernel');
    this.extensions.set(name, { owner });
    Object.defineProperty(this.WasClass.prototype, name, {
      configurable: true,
      enumerable: false,
      get(this: Was) {
        const value = factory(this);
        // Cache on the instance: the getter runs once per request at most.
        Object.defineProperty(this, name, { value, configurable: true, enumerable: false, writable: true });
        return value;
      },
    });
  }

  owners(): Map<string, string> {
    return new Map([...this.extensions].map(([name, e]) => [name, e.owner]));
  }
}
