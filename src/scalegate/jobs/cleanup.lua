-- Remove jobs and batches that finished before a cut-off (retention).
-- KEYS: 1 finished zset, 2 dead zset, 3 finished batches zset
-- ARGV: 1 job key prefix, 2 batch key prefix, 3 tenant batches zset prefix, 4 cut-off ms,
--       5 limit
-- Returns how many jobs and batches were removed.
local removed = 0
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4], 'LIMIT', 0, ARGV[5])
for _, id in ipairs(old) do
  redis.call('DEL', ARGV[1] .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  removed = removed + 1
end
local batches = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[4], 'LIMIT', 0, ARGV[5])
for _, b in ipairs(batches) do
  local bkey = ARGV[2] .. b
  local tenant = redis.call('HGET', bkey, 'tenant') or ''
  for _, id in ipairs(redis.call('LRANGE', bkey .. ':jobs', 0, -1)) do
    redis.call('DEL', ARGV[1] .. id)
    redis.call('ZREM', KEYS[2], id)
  end
  redis.call('DEL', bkey, bkey .. ':jobs')
  redis.call('ZREM', ARGV[3] .. tenant, b)
  redis.call('ZREM', KEYS[3], b)
  removed = removed + 1
end
return removed
