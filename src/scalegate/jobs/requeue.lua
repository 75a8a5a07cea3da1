-- Requeue a DEAD or FAILED job: PENDING again, attempts reset, at the back of its level.
-- KEYS: 1 job hash, 2 ready, 3 dead, 4 finished, 5 stats, 6 finished batches zset
-- ARGV: 1 id, 2 score, 3 now ms, 4 wake channel, 5 batch key prefix
-- Returns 1 requeued, 0 not dead or failed.
local f = redis.call('HMGET', KEYS[1], 'state', 'batch')
if f[1] ~= 'DEAD' and f[1] ~= 'FAILED' then return 0 end
local id, now = ARGV[1], ARGV[3]
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', KEYS[1], 'result', 'error')
redis.call('HSET', KEYS[1], 'state', 'PENDING', 'attempts', 0, 'score', ARGV[2],
  'enqueued_at', now, 'ready_at', now, 'updated_at', now)
redis.call('ZADD', KEYS[2], ARGV[2], id)
if f[2] then
  local bkey = ARGV[5] .. f[2]
  if redis.call('EXISTS', bkey) == 1 then
    redis.call('HINCRBY', bkey, 'errored', -1)
    redis.call('HINCRBY', bkey, 'processing', 1)
    redis.call('HDEL', bkey, 'ended_at')
    redis.call('ZREM', KEYS[6], f[2])
  end
end
redis.call('HINCRBY', KEYS[5], 'requeued', 1)
redis.call('PUBLISH', ARGV[4], '1')
return 1
