-- A replica says it is alive; replicas silent for long are forgotten with their waiting flags.
-- KEYS: replicas hash
-- ARGV: now, replica id, forget after (seconds)
local now = clock(ARGV[1])
redis.call('HSET', KEYS[1], ARGV[2], str(now))
local raw = redis.call('HGETALL', KEYS[1])
local alive = 0
for i = 1, #raw, 2 do
  if tonumber(raw[i + 1]) < now - tonumber(ARGV[3]) then
    redis.call('HDEL', KEYS[1], raw[i])
  else
    alive = alive + 1
  end
end
return alive
