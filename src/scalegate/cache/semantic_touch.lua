-- A semantic-cache hit: move the entry to the LRU's young end, count the hit.
-- KEYS: entry, lru zset, stats hash, tick counter
if redis.call('ZSCORE', KEYS[2], KEYS[1]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), KEYS[1])
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'hits', 1) end
redis.call('HINCRBY', KEYS[3], 'hits', 1)
return 1
