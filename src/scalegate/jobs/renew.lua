-- Extend the leases a worker still holds; report the ones it lost.
-- KEYS: 1 leased zset
-- ARGV: 1 job key prefix, 2 owner, 3 now ms, 4 visibility ms, 5.. id, attempt pairs
-- Returns the ids no longer held by owner (canceled, finished, or taken over).
local prefix, owner = ARGV[1], ARGV[2]
local until_ms = tonumber(ARGV[3]) + tonumber(ARGV[4])
local lost = {}
for i = 5, #ARGV, 2 do
  local id, attempt = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', prefix .. id, 'state', 'owner', 'attempts')
  if f[1] == 'PROCESSING' and f[2] == owner and f[3] == attempt then
    redis.call('ZADD', KEYS[1], until_ms, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
