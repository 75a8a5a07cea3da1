-- Promote due retries, return expired leases to ready, then lease up to n jobs.
-- KEYS: 1 ready zset, 2 leased zset, 3 delayed zset, 4 stats hash
-- ARGV: 1 job key prefix, 2 owner, 3 n, 4 now ms, 5 visibility ms
-- Returns {{job hash as a flat list}..., next_due_ms or false}
local prefix, owner, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now, visibility = tonumber(ARGV[4]), tonumber(ARGV[5])

local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 500)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[3], id)
  local key = prefix .. id
  local score = redis.call('HGET', key, 'score')
  if score and redis.call('HGET', key, 'state') == 'PENDING' then
    redis.call('HSET', key, 'ready_at', now)
    redis.call('ZADD', KEYS[1], score, id)
  end
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 500)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  local key = prefix .. id
  if redis.call('HGET', key, 'state') == 'PROCESSING' then
    redis.call('HSET', key, 'state', 'PENDING', 'updated_at', now, 'ready_at', now)
    redis.call('ZADD', KEYS[1], redis.call('HGET', key, 'score'), id)
    redis.call('HINCRBY', KEYS[4], 'reclaimed', 1)
  end
end

local jobs = {}
local waited = 0
if n > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], n)
  for i = 1, #popped, 2 do
    local id = popped[i]
    local key = prefix .. id
    local ready_at = tonumber(redis.call('HGET', key, 'ready_at'))
    if ready_at then
      redis.call('HINCRBY', key, 'attempts', 1)
      redis.call('HSET', key, 'state', 'PROCESSING', 'owner', owner, 'updated_at', now)
      redis.call('ZADD', KEYS[2], now + visibility, id)
      waited = waited + math.max(0, now - ready_at)
      jobs[#jobs + 1] = redis.call('HGETALL', key)
    end
  end
end
if #jobs > 0 then
  redis.call('HINCRBY', KEYS[4], 'leased', #jobs)
  redis.call('HINCRBY', KEYS[4], 'wait_ms', waited)
end

local next_due = false
local d = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local l = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if d[2] then next_due = tonumber(d[2]) end
if l[2] and (not next_due or tonumber(l[2]) < next_due) then next_due = tonumber(l[2]) end
if next_due then next_due = tostring(next_due) end
return {jobs, next_due}
