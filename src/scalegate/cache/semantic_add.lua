-- Add one semantic-cache entry (a hash the search index picks up), then trim to the bound.
-- KEYS: entry, lru zset, stats hash, tick counter
-- ARGV: now, part tag, prompt, vector (float32 bytes), value, expires_at, ttl_ms, label,
--       max_entries
-- Victims come from the LRU sorted set (score = last use), so they are not in KEYS: this
-- script needs a standalone (or sentinel) Redis, not a cluster.
local now = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'part', ARGV[2], 'prompt', ARGV[3], 'vec', ARGV[4],
  'value', ARGV[5], 'exp', ARGV[6], 'label', ARGV[8], 'hits', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), KEYS[1])
redis.call('HINCRBY', KEYS[3], 'stores', 1)
local max_entries = tonumber(ARGV[9])
local count = redis.call('ZCARD', KEYS[2])
while count > max_entries do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not oldest or oldest == KEYS[1] then break end
  local live = redis.call('EXISTS', oldest) == 1
  redis.call('DEL', oldest)
  redis.call('ZREM', KEYS[2], oldest)
  redis.call('HINCRBY', KEYS[3], live and 'evictions' or 'expired', 1)
  count = count - 1
end
return 1
