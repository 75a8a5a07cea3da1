-- Give a held job back to the ready set at once; the interrupted attempt is not counted.
-- KEYS: 1 job hash, 2 leased, 3 ready, 4 stats
-- ARGV: 1 id, 2 owner, 3 attempt, 4 now ms, 5 wake channel
-- Returns 1 released, 0 stale token.
local f = redis.call('HMGET', KEYS[1], 'state', 'owner', 'attempts', 'score')
if f[1] ~= 'PROCESSING' or f[2] ~= ARGV[2] or f[3] ~= ARGV[3] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
redis.call('HSET', KEYS[1], 'state', 'PENDING', 'updated_at', ARGV[4], 'ready_at', ARGV[4])
redis.call('ZADD', KEYS[3], f[4], ARGV[1])
redis.call('HINCRBY', KEYS[4], 'released', 1)
redis.call('PUBLISH', ARGV[5], '1')
return 1
