-- Put a held job in the delayed set until its retry time (it stays PENDING).
-- KEYS: 1 job hash, 2 leased, 3 delayed, 4 stats, [5 batch hash]
-- ARGV: 1 id, 2 owner, 3 attempt, 4 run at ms, 5 now ms, 6 error json,
--       7 '0' when the attempt is not counted (deferred work: a tenant over its rate)
-- Returns 1 retrying, 0 stale token, 2 the job's batch is being canceled (nothing changed).
local f = redis.call('HMGET', KEYS[1], 'state', 'owner', 'attempts')
if f[1] ~= 'PROCESSING' or f[2] ~= ARGV[2] or f[3] ~= ARGV[3] then return 0 end
if #KEYS >= 5 and redis.call('HEXISTS', KEYS[5], 'cancel_initiated_at') == 1 then return 2 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'PENDING', 'updated_at', ARGV[5], 'error', ARGV[6])
if ARGV[7] == '0' then
  redis.call('HINCRBY', KEYS[1], 'attempts', -1)
  redis.call('HINCRBY', KEYS[4], 'deferred', 1)
else
  redis.call('HINCRBY', KEYS[4], 'retried', 1)
end
return 1
