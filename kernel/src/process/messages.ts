/** What the master and its workers say to each other over cluster IPC (every message has `skitai`). */
export type WorkerMessage =
  | { skitai: 'ready'; address: string; port: number; scheme: string }
  | { skitai: 'start-failed'; code: string | undefined; message: string }
  | { skitai: 'bcast'; event: string; args: unknown[]; from: string }
  | { skitai: 'send'; to: string; event: string; args: unknown[]; from: string }
  | { skitai: 'cpu'; cpu: number; elu: number; elapsed: number }
  | { skitai: 'restart' }
  | { skitai: 'shutdown' }
  | { skitai: 'status-ask'; id: number }
  | { skitai: 'status-report'; id: number; report: unknown };

export type MasterMessage =
  | { skitai: 'stop' }
  | { skitai: 'deliver'; event: string; args: unknown[]; from: string }
  | { skitai: 'reopen-logs' }
  | { skitai: 'status-collect'; id: number }
  | { skitai: 'status-reply'; id: number; reports: unknown };

export function isSkitaiMessage(msg: unknown): msg is { skitai: string } {
  return typeof msg === 'object' && msg !== null && typeof (msg as { skitai?: unknown }).skitai === 'string';
}
