// The part of the Kernel the App framework uses. Kept as a structural type so that the app
// compiles against the kernel's contract, not against its internals.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KernelHooks } from '@skitai/kernel';
import type { MountEntry } from '@skitai/kernel';
import type { Was } from '@skitai/kernel';

export interface AppKernel {
  readonly hooks: KernelHooks;
  readonly mounts: { findByName(name: string): MountEntry | undefined; readonly entries: readonly MountEntry[] };
  readonly debug?: boolean;
  readonly logs?: { log(channel: string, level: string, message: string): void };
  extendWas<T>(name: string, factory: (was: Was) => T, owner: string): void;
  createWas(req: IncomingMessage, res: ServerResponse): Was;
  getswd?(): string;
  /** The process model's messenger (broadcasts reach every worker); absent on older kernels. */
  readonly workerId?: string;
  broadcast?(event: string, ...args: unknown[]): void;
  onBroadcast?(listener: (event: string, args: unknown[], from: string) => void): () => void;
}
