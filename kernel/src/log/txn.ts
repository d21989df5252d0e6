import { randomBytes } from 'node:crypto';
import type { SkitaiRequest } from '../http/request.js';

// Transaction ids: a global id per incoming call, kept from X-Gtxn-Id when one arrives; a local id
// starting at 1000 (its first digit is the call depth), kept from X-Ltxn-Id.
const prefix = `GTID-${randomBytes(3).toString('hex')}-`;
let sequence = 0;
/** Ids from outside are written to logs and forwarded: accept only short, plain tokens. */
const safeId = /^[A-Za-z0-9._:-]{1,64}$/;

export function nextGlobalId(): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return prefix + sequence.toString(36);
}

/** Fills req.gtxnId and req.ltxnId once; called by the log and by outgoing `was` calls. */
export function ensureTxn(req: SkitaiRequest): void {
  if (req.gtxnId !== '') return;
  const g = req.headers['x-gtxn-id'];
  const l = req.headers['x-ltxn-id'];
  req.gtxnId = typeof g === 'string' && safeId.test(g) ? g : nextGlobalId();
  req.ltxnId = typeof l === 'string' && safeId.test(l) ? l : '1000';
}
