import { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { SkitaiRequest } from './request.js';

const writeHeadOriginal = ServerResponse.prototype.writeHead;

// Stamps when the head went out so that the log can split handling from sending time.
// An own property (set in the constructor), so it survives prototype swaps by Express.
function writeHeadStamped(this: SkitaiResponse, ...args: any[]): SkitaiResponse {
  if (this.headAt === 0) this.headAt = performance.now();
  return (writeHeadOriginal as any).apply(this, args);
}

export class SkitaiResponse extends ServerResponse<SkitaiRequest> {
  /** performance.now() when the status line and headers were written. */
  headAt = 0;
  /** socket.bytesWritten when this response began, to count its bytes. */
  socketBytesAtStart = 0;

  constructor(req: SkitaiRequest) {
    super(req);
    this.writeHead = writeHeadStamped as any;
    this.socketBytesAtStart = req.socket ? req.socket.bytesWritten : 0;
  }
}
