-- Check the month's budget, then take one request and its tokens from a tenant's limits,
-- all or nothing: one round trip per request.
-- KEYS: state hash, rpd window, tpd window, the month's spend
-- ARGV: now, then per limit (rpm, tpm, rpd, tpd): capacity ('' = none), then requests,
--       tokens, monthly budget ('' = none)
-- Returns {1, spent} when taken, {0, wait seconds, limit, spent} when a limit cannot take
-- it, {2, spent} when the budget is spent (spent: the month's, as the memory store reports).
local now = clock(ARGV[1])
local budget = tonumber(ARGV[8])
local spent = tonumber(redis.call('GET', KEYS[4])) or 0
if budget ~= nil and spent >= budget then return {2, str(spent)} end
local h = hash(KEYS[1])
local caps = {rpm = tonumber(ARGV[2]), tpm = tonumber(ARGV[3]),
              rpd = tonumber(ARGV[4]), tpd = tonumber(ARGV[5])}
local amount = {rpm = tonumber(ARGV[6]), tpm = tonumber(ARGV[7]),
                rpd = tonumber(ARGV[6]), tpd = tonumber(ARGV[7])}
local wkeys = {rpd = KEYS[2], tpd = KEYS[3]}
local worst, which = 0, ''
local levels, windows = {}, {}
for _, l in ipairs({'rpm', 'tpm'}) do
  if caps[l] ~= nil then
    h['cap:' .. l] = tostring(caps[l])
    local cap, lvl = bucket_level(h, l, now)
    levels[l] = lvl
    if lvl < amount[l] then
      local w = (amount[l] - lvl) / (cap / 60)
      if w > worst then worst, which = w, l end
    end
  end
end
for _, l in ipairs({'rpd', 'tpd'}) do
  if caps[l] ~= nil then
    local len, total, slots = window_state(wkeys[l], caps[l], l, now)
    windows[l] = len
    local w = window_wait(caps[l], len, total, slots, amount[l], l, now)
    if w > worst then worst, which = w, l end
  end
end
if worst > 0 then return {0, str(worst), which, str(spent)} end
local updates = {}
for l, lvl in pairs(levels) do
  updates[#updates + 1] = 'cap:' .. l; updates[#updates + 1] = tostring(caps[l])
  updates[#updates + 1] = 'lvl:' .. l; updates[#updates + 1] = str(lvl - amount[l])
  updates[#updates + 1] = 'upd:' .. l; updates[#updates + 1] = str(now)
end
if #updates > 0 then redis.call('HSET', KEYS[1], unpack(updates)) end
for l, len in pairs(windows) do
  if amount[l] > 0 then
    redis.call('HINCRBYFLOAT', wkeys[l], str(now - (now % len)), amount[l])
    redis.call('EXPIRE', wkeys[l], WINDOW_SECONDS[l] + 2 * len)
  end
end
return {1, str(spent)}
