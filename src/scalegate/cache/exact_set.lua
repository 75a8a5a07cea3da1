-- Store one exact-cache entry, then evict least-recently-used entries past the bounds.
-- KEYS: entry, version(epoch), version(tenant), version(sub), lru zset, hits zset, stats hash,
--       sizes hash, tick counter
-- ARGV: now, has_sub, body, expires_at, ttl_ms, label, max_entries, max_bytes, overhead
-- Returns 1 when stored, 0 when the entry alone is larger than max_bytes.
-- Victims are read from the LRU sorted set (score = tick of the last access), so they are not in KEYS:
-- this script needs a standalone (or sentinel) Redis, not a cluster.
local now = tonumber(ARGV[1])
local size = string.len(ARGV[3]) + string.len(KEYS[1]) + tonumber(ARGV[9])
local max_entries = tonumber(ARGV[7])
local max_bytes = tonumber(ARGV[8])
if size > max_bytes then return 0 end
local function ver(k) return redis.call('GET', k) or '0' end
local current = ver(KEYS[2]) .. '.' .. ver(KEYS[3]) .. '.' .. (ARGV[2] == '1' and ver(KEYS[4]) or '0')

local function forget(victim)
  local old = tonumber(redis.call('HGET', KEYS[8], victim) or '0')
  redis.call('ZREM', KEYS[5], victim)
  redis.call('ZREM', KEYS[6], victim)
  redis.call('HDEL', KEYS[8], victim)
  if old > 0 then redis.call('HINCRBY', KEYS[7], 'bytes', -old) end
end

forget(KEYS[1])
redis.call('HSET', KEYS[1], 'v', current, 'exp', ARGV[4], 'body', ARGV[3], 'label', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[9]), KEYS[1])
redis.call('ZADD', KEYS[6], 0, KEYS[1])
redis.call('HSET', KEYS[8], KEYS[1], size)
local total = redis.call('HINCRBY', KEYS[7], 'bytes', size)
redis.call('HINCRBY', KEYS[7], 'stores', 1)

local count = redis.call('ZCARD', KEYS[5])
while count > max_entries or total > max_bytes do
  local oldest = redis.call('ZRANGE', KEYS[5], 0, 0)[1]
  if not oldest or oldest == KEYS[1] then break end
  local live = redis.call('EXISTS', oldest) == 1 and
    tonumber(redis.call('HGET', oldest, 'exp') or '0') > now
  redis.call('DEL', oldest)
  forget(oldest)
  redis.call('HINCRBY', KEYS[7], live and 'evictions' or 'expired', 1)
  count = count - 1
  total = tonumber(redis.call('HGET', KEYS[7], 'bytes'))
end
return 1
