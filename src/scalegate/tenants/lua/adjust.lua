-- Settle a request: give back (or charge) tokens once the answer is known, and add its cost
-- to the month's spend. One round trip.
-- KEYS: state hash, tpd window, the month's spend
-- ARGV: now, tokens to give back (negative charges more), dollars spent
local now = clock(ARGV[1])
local usd = tonumber(ARGV[3])
if usd > 0 then
  redis.call('INCRBYFLOAT', KEYS[3], ARGV[3])
  redis.call('EXPIRE', KEYS[3], 40 * 86400)
end
local give = tonumber(ARGV[2])
if give == 0 then return 1 end
local h = hash(KEYS[1])
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
