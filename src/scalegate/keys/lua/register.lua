-- Add a key, or change its limits keeping what is used.
-- KEYS: state hash
-- ARGV: now, then for rpm, itpm, otpm, rph, rpd: capacity ('' = unlimited)
local now = clock(ARGV[1])
local h = hash(KEYS[1])
local names = {'rpm', 'itpm', 'otpm', 'rph', 'rpd'}
local updates = {'registered', '1'}
for i, l in ipairs(names) do
  local cap = tonumber(ARGV[1 + i])
  local old = tonumber(h['cap:' .. l])
  if cap == nil then
    redis.call('HDEL', KEYS[1], 'cap:' .. l, 'lvl:' .. l, 'upd:' .. l)
  elseif old ~= cap then
    updates[#updates + 1] = 'cap:' .. l; updates[#updates + 1] = str(cap)
    if i <= 3 then
      local lvl = cap
      if old ~= nil then
        local _, old_lvl = bucket_level(h, l, now)
        lvl = cap - (old - old_lvl)
      end
      updates[#updates + 1] = 'lvl:' .. l; updates[#updates + 1] = str(lvl)
      updates[#updates + 1] = 'upd:' .. l; updates[#updates + 1] = str(now)
    end
  end
end
redis.call('HSET', KEYS[1], unpack(updates))
return 1
