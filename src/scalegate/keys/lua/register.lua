-- Add a key, or change its limits keeping what is used.
-- KEYS: state hash
-- ARGV: now, then for rpm, itpm, otpm, rph, rpd: configured capacity ('' = unlimited),
--       then a start mode for new minute buckets: 'full', or 'levels' followed by the
--       level of rpm, itpm, otpm ('' = empty) and the limit last reported for each ('' =
--       none): after Redis lost the state, buckets start conservatively and at the learned
--       limits, so the provider sees no burst ('full' leaves those six empty); then a new
--       epoch, kept only when the key has no state yet (see settle.lua).
-- A minute bucket's capacity is min(configured, the limit the provider last reported).
local now = clock(ARGV[1])
local h = hash(KEYS[1])
local names = {'rpm', 'itpm', 'otpm', 'rph', 'rpd'}
local levels = ARGV[7] == 'levels'
local updates = {'registered', '1'}
if h['registered'] == nil then
  updates[#updates + 1] = 'epoch'; updates[#updates + 1] = ARGV[14]
end
for i, l in ipairs(names) do
  local cfg = tonumber(ARGV[1 + i])
  local old = tonumber(h['cap:' .. l])
  if cfg == nil then
    redis.call('HDEL', KEYS[1], 'cap:' .. l, 'lvl:' .. l, 'upd:' .. l, 'cfg:' .. l, 'rep:' .. l)
  else
    local cap = cfg
    if i <= 3 then
      updates[#updates + 1] = 'cfg:' .. l; updates[#updates + 1] = str(cfg)
      local reported = tonumber(h['rep:' .. l])
      if reported == nil and levels then
        reported = tonumber(ARGV[10 + i])
        if reported ~= nil then
          updates[#updates + 1] = 'rep:' .. l; updates[#updates + 1] = str(reported)
        end
      end
      if reported ~= nil then cap = math.min(cfg, reported) end
    end
    if old ~= cap then
      updates[#updates + 1] = 'cap:' .. l; updates[#updates + 1] = str(cap)
      if i <= 3 then
        local lvl = cap
        if old ~= nil then
          local _, old_lvl = bucket_level(h, l, now)
          lvl = cap - (old - old_lvl)
        elseif levels then
          lvl = math.min(cap, num(ARGV[7 + i], 0))
        end
        updates[#updates + 1] = 'lvl:' .. l; updates[#updates + 1] = str(lvl)
        updates[#updates + 1] = 'upd:' .. l; updates[#updates + 1] = str(now)
      end
    end
  end
end
redis.call('HSET', KEYS[1], unpack(updates))
return 1
