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
 * A Redis adapter implements the same two methods over a pub/sub channel
 * (`publish` = PUBLISH skitai:ws <json>, `subscribe` = SUBSCRIBE with JSON.parse), which is
 * all it takes for rooms to span machines.
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

/** The default: the messenger in a worker, nothing in a single process. */
export function defaultAdapter(kernel: Kernel): RoomAdapter | undefined {
  let role: string;
  try {
    role = kernel.processRole;
  } catch {
    return undefined;
  }
  return role === 'worker' ? processAdapter(kernel) : undefined;
}
