-- Give back (or charge) tokens after the answer is known.
-- KEYS: state hash, tpd window
-- ARGV: now, tokens to give back (negative charges more)
local now = clock(ARGV[1])
local h = hash(KEYS[1])
local give = tonumber(ARGV[2])
local cap, lvl = bucket_level(h, 'tpm', now)
if cap ~= nil then
  redis.call('HSET', KEYS[1], 'lvl:tpm', str(math.min(cap, lvl + give)), 'upd:tpm', str(now))
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  local len = WINDOW_SECONDS['tpd'] / WINDOW_SLOTS['tpd']
  local slot = str(now - (now % len))
  if give > 0 then
    local len2, total, slots = window_state(KEYS[2], 0, 'tpd', now)
    for s = #slots, 1, -1 do
      if give <= 0 then break end
      local back = math.min(slots[s][2], give)
      redis.call('HINCRBYFLOAT', KEYS[2], str(slots[s][1]), -back)
      give = give - back
    end
  else
    redis.call('HINCRBYFLOAT', KEYS[2], slot, -give)
  end
end
return 1
