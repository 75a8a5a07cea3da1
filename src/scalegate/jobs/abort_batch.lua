-- Remove what was staged for a batch that will not be committed, and free its idempotency key.
-- KEYS: 1 batch hash, 2 its jobs list, 3 its staged ready set, 4 its staging marker,
--       [5 idempotency key]
-- ARGV: 1 job key prefix, 2 batch id
-- Returns 1, or 0 when the batch was committed (then nothing is touched).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = redis.call('LLEN', KEYS[2])
for start = 0, n - 1, 1000 do
  local keys = {}
  for i, id in ipairs(redis.call('LRANGE', KEYS[2], start, start + 999)) do
    keys[i] = ARGV[1] .. id
  end
  if #keys > 0 then redis.call('UNLINK', unpack(keys)) end
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
if #KEYS >= 5 and redis.call('GET', KEYS[5]) == ARGV[2] then redis.call('DEL', KEYS[5]) end
return 1
