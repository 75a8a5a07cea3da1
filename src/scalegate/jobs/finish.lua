-- Move a job to a terminal state (COMPLETED, FAILED, DEAD or CANCELED), with its batch counts.
-- KEYS: 1 job hash, 2 ready, 3 leased, 4 delayed, 5 finished, 6 dead, 7 stats,
--       8 finished batches zset
-- ARGV: 1 id, 2 state, 3 mode (token | cancel | cancel_pending), 4 owner, 5 attempt,
--       6 now ms, 7 result json or '', 8 error json or '', 9 batch key prefix,
--       10 batch count to add to (succeeded | errored | canceled)
-- Returns 1 when the job changed, 0 when the precondition failed (a stale token).
local job = KEYS[1]
local f = redis.call('HMGET', job, 'state', 'owner', 'attempts', 'batch')
local state = f[1]
if not state then return 0 end
local mode = ARGV[3]
if mode == 'token' then
  if f[2] ~= ARGV[4] or f[3] ~= ARGV[5] then return 0 end
  if state ~= 'PROCESSING' and state ~= 'PENDING' then return 0 end
elseif mode == 'cancel' then
  if state ~= 'PENDING' and state ~= 'PROCESSING' then return 0 end
elseif state ~= 'PENDING' then
  return 0
end
local id, now = ARGV[1], ARGV[6]
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('HSET', job, 'state', ARGV[2], 'updated_at', now)
if ARGV[7] ~= '' then redis.call('HSET', job, 'result', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', job, 'error', ARGV[8]) end
if ARGV[2] == 'DEAD' then redis.call('ZADD', KEYS[6], now, id) end
redis.call('HINCRBY', KEYS[7], string.lower(ARGV[2]), 1)
local batch = f[4]
if batch then
  local bkey = ARGV[9] .. batch
  if redis.call('EXISTS', bkey) == 1 then
    redis.call('HINCRBY', bkey, ARGV[10], 1)
    if redis.call('HINCRBY', bkey, 'processing', -1) <= 0 then
      redis.call('HSETNX', bkey, 'ended_at', now)
      redis.call('ZADD', KEYS[8], now, batch)
    end
  end
else
  redis.call('ZADD', KEYS[5], now, id)
end
return 1
