// Groupchat across processes: what crosses between processes, and the adapters that carry it.
import type { Kernel } from '@skitai/kernel';

/**
 * A message for the members of a room, or for one client id, that may live in another
 * process. Plain JSON (IPC and Redis channels carry JSON): bytes travel as base64.
 */
export type WireMessage =
  | { t: 'room'; room: string; data: string; b64?: true; except?: number }
  | { t: 'client'; id: number; data: string; b64?: true };

/**
 * Carries WireMessages to the other processes (or machines) serving the same rooms. Every
 * process delivers to its own sockets itself: `publish` is for the others only, and
 * `subscribe` receives only what the others published.
 *
 * With `@skitai/shared` the default adapter spans instances: the kernel's broadcasts cross
 * them over Redis pub/sub (the pattern of socket.io's Redis adapter).
 */
export interface RoomAdapter {
  publish(message: WireMessage): void;
  subscribe(receive: (message: WireMessage) => void): () => void;
  close?(): void | Promise<void>;
}

export const BROADCAST_EVENT = '@skitai/websocket';

/** Through the process model's messenger (the master relays to every worker). */
export function processAdapter(kernel: Kernel): RoomAdapter {
  return {
    publish(message) {
      kernel.broadcast(BROADCAST_EVENT, message);
    },
    subscribe(receive) {
      return kernel.onBroadcast((event, args, from) => {
        if (event === BROADCAST_EVENT && from !== kernel.workerId) receive(args[0] as WireMessage);
      });
    },
  };
}

/**
 * The default: the messenger in a worker, or whenever the kernel shares its state with other
 * instances (`@skitai/shared`: its broadcasts reach their processes too); nothing in a single
 * process alone.
 */
export function defaultAdapter(kernel: Kernel): RoomAdapter | undefined {
  let role: string;
  try {
    role = kernel.processRole;
  } catch {
    return undefined;
  }
  return role === 'worker' || kernel.instanceBridge !== undefined ? processAdapter(kernel) : undefined;
}
