// The Lua scripts: each runs atomically in Redis (a read-compare-write no other instance can
// interleave with).

/**
 * setlu: KEYS = [hash of times, channel]; ARGV = [key, time, message]. The hash keeps the
 * latest time of each key (for instances that start or come back later), then the message goes
 * to the instances listening now.
 */
export const SETLU = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
`;

/**
 * Resynchronisation: KEYS = [hash, channel]; ARGV = [instance id, key1, time1, key2, time2 ...].
 * Times later than the hash's are stored and announced (set here while Redis was away); the
 * whole hash comes back, for this instance to take what others set meanwhile.
 */
export const RESYNC = `
for i = 2, #ARGV, 2 do
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > cur then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    redis.call('PUBLISH', KEYS[2], cjson.encode({ i = ARGV[1], k = 'lu', key = ARGV[i], t = tonumber(ARGV[i + 1]) }))
  end
end
return redis.call('HGETALL', KEYS[1])
`;

/**
 * The cron lock: KEYS = [lock, last tick]; ARGV = [token, lock ms, tick ms]. Taken only for a
 * tick later than the last one taken (so a late instance never runs a tick again, even after
 * the owner released the lock), and only if no run of the job holds it (SET NX PX).
 */
export const CRON_ACQUIRE = `
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[3]) <= last then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', 604800000)
return 1
`;

/** Release by the owner only: KEYS = [lock]; ARGV = [token]. Another's lock is left alone. */
export const CRON_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * The broadcasts one instance kept while Redis was away: KEYS = [replay list, channel];
 * ARGV = [list length, list ms, message1, message2 ...]. Each is published, and also kept in a
 * short list for the instances that come back after this one (they read it at their own return).
 */
export const REPLAY = `
for i = 3, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
  redis.call('PUBLISH', KEYS[2], ARGV[i])
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
