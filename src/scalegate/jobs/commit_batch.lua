-- Make a staged batch visible in one step: its jobs kept (no expiry) and the PENDING ones
-- ready, its record written with its final counts, listed for its tenant.
-- KEYS: 1 batch hash, 2 its jobs list, 3 its staged ready set, 4 its staging marker,
--       5 ready zset, 6 stats hash, 7 the tenant's batches zset, 8 finished batches zset
-- ARGV: 1 job key prefix, 2 batch id, 3 created at ms, 4 wake channel, 5 processing count,
--       6.. field/value pairs of the batch hash
-- Returns 1, or 0 when the staging marker is gone (it expired, or the batch was aborted).
if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
local n = redis.call('LLEN', KEYS[2])
for start = 0, n - 1, 1000 do
  for _, id in ipairs(redis.call('LRANGE', KEYS[2], start, start + 999)) do
    redis.call('PERSIST', ARGV[1] .. id)
  end
end
redis.call('PERSIST', KEYS[2])
local ready = redis.call('ZCARD', KEYS[3])
for start = 0, ready - 1, 1000 do
  local staged = redis.call('ZRANGE', KEYS[3], start, start + 999, 'WITHSCORES')
  local args = {}
  for i = 1, #staged, 2 do
    args[#args + 1] = staged[i + 1]
    args[#args + 1] = staged[i]
  end
  redis.call('ZADD', KEYS[5], unpack(args))
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if tonumber(ARGV[5]) <= 0 then
  redis.call('HSET', KEYS[1], 'ended_at', ARGV[3])
  redis.call('ZADD', KEYS[8], ARGV[3], ARGV[2])
end
redis.call('ZADD', KEYS[7], ARGV[3], ARGV[2])
redis.call('HINCRBY', KEYS[6], 'enqueued', n)
if ready > 0 then redis.call('PUBLISH', ARGV[4], '1') end
return 1
