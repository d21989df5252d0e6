// The four types this package serves.
import type { Engine } from './engine.js';
import { mongodb } from './mongodb.js';
import { postgresql } from './postgresql.js';
import { redis } from './redis.js';
import { sqlite3 } from './sqlite.js';

export const ENGINES: ReadonlyMap<string, Engine> = new Map<string, Engine>([
  ['postgresql', postgresql],
  ['redis', redis],
  ['sqlite3', sqlite3],
  ['mongodb', mongodb],
]);
