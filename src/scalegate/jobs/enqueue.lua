-- Store a new job and make it ready (or, for a job refused at creation, store it finished).
-- KEYS: 1 job hash, 2 ready zset, 3 stats hash, 4 finished zset, [5 idempotency key]
-- ARGV: 1 id, 2 score, 3 idempotency ttl ms, 4 wake channel, 5 job key prefix,
--       6 state, 7 now ms, 8.. field/value pairs of the job hash
-- Returns the id of the stored job: the new one, or the one the idempotency key names.
if #KEYS >= 5 then
  local existing = redis.call('GET', KEYS[5])
  if existing and redis.call('EXISTS', ARGV[5] .. existing) == 1 then
    return existing
  end
  redis.call('SET', KEYS[5], ARGV[1], 'PX', ARGV[3])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('HINCRBY', KEYS[3], 'enqueued', 1)
if ARGV[6] == 'PENDING' then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
  redis.call('PUBLISH', ARGV[4], '1')
elseif redis.call('HEXISTS', KEYS[1], 'batch') == 0 then
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1])
end
return ARGV[1]
