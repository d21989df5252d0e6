// @skitai/shared: several instances of a server share their state through Redis.
export { shared, sharedBridge, NAME, VERSION, type SharedOptions } from './plugin.js';
export { RedisBridge } from './bridge.js';
export { codes } from './errors.js';
export type { RedisTarget } from './target.js';
export type { CronLockArgs } from './cron-lock.js';
