-- Start storing a batch whose jobs arrive in chunks: claim its idempotency key, mark it staging.
-- KEYS: 1 the new batch's staging marker, [2 idempotency key]
-- ARGV: 1 batch id, 2 staging ttl ms, 3 idempotency ttl ms, 4 batch key prefix
-- Returns {'new'}, {'existing', <the batch hash the key names, flat>} or {'staging'} (the
-- key names a batch still being stored).
if #KEYS >= 2 then
  local existing = redis.call('GET', KEYS[2])
  if existing then
    local found = redis.call('HGETALL', ARGV[4] .. existing)
    if #found > 0 then return {'existing', found} end
    if redis.call('EXISTS', ARGV[4] .. existing .. ':staging') == 1 then return {'staging'} end
  end
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'new'}
