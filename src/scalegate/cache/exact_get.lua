-- Read one exact-cache entry if it is live; count the hit or the miss.
-- KEYS: entry, version(epoch), version(tenant), version(sub), lru zset, hits zset, stats hash,
--       sizes hash, tick counter (the LRU's clock: one step per access, so no ties)
-- ARGV: now (seconds, float), has_sub (0|1)
-- A live entry carries the namespace's current version triple and an expiry in the future;
-- otherwise it is removed (with its bookkeeping) and the read is a miss.
local now = tonumber(ARGV[1])
local function ver(k) return redis.call('GET', k) or '0' end
local current = ver(KEYS[2]) .. '.' .. ver(KEYS[3]) .. '.' .. (ARGV[2] == '1' and ver(KEYS[4]) or '0')
local e = redis.call('HMGET', KEYS[1], 'v', 'exp', 'body')
if not e[3] then
  redis.call('HINCRBY', KEYS[7], 'misses', 1)
  return false
end
if e[1] ~= current or tonumber(e[2]) <= now then
  local size = tonumber(redis.call('HGET', KEYS[8], KEYS[1]) or '0')
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[5], KEYS[1])
  redis.call('ZREM', KEYS[6], KEYS[1])
  redis.call('HDEL', KEYS[8], KEYS[1])
  if size > 0 then redis.call('HINCRBY', KEYS[7], 'bytes', -size) end
  redis.call('HINCRBY', KEYS[7], e[1] ~= current and 'invalidated' or 'expired', 1)
  redis.call('HINCRBY', KEYS[7], 'misses', 1)
  return false
end
redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[9]), KEYS[1])
redis.call('ZINCRBY', KEYS[6], 1, KEYS[1])
redis.call('HINCRBY', KEYS[7], 'hits', 1)
return e[3]
