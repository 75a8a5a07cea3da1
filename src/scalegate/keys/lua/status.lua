-- A key's state for health, admin and metrics (read-only apart from dropping dead slots).
-- KEYS: state hash, rph window, rpd window
-- ARGV: now, breaker cooldown seconds
-- Returns: {disabled or '', quarantined, breaker, cooldown_left, limit, used, cap, full_in, …}
local now = clock(ARGV[1])
local h = hash(KEYS[1])
if h['registered'] == nil then return {} end
local bstate = num(h['b:state'], 0)
local breaker = 'closed'
if bstate == 2 then
  if num(h['b:opened'], 0) + tonumber(ARGV[2]) <= now then breaker = 'half_open' else breaker = 'open' end
elseif bstate == 1 then
  breaker = 'half_open'
end
local out = {h['disabled'] or '', h['quarantined'] or '0', breaker,
             str(math.max(0, num(h['cool'], 0) - now))}
for _, l in ipairs(BUCKETS) do
  local cap, lvl = bucket_level(h, l, now)
  if cap ~= nil then
    out[#out + 1] = l; out[#out + 1] = str(cap - lvl); out[#out + 1] = str(cap)
    out[#out + 1] = str((cap - lvl) / (cap / 60))
  end
end
for j, l in ipairs(WINDOWS) do
  local cap = tonumber(h['cap:' .. l])
  if cap ~= nil then
    local len, total, slots = window_state(KEYS[1 + j], cap, l, now)
    local full_in = 0
    if #slots > 0 then full_in = math.max(0, slots[#slots][1] + len + WINDOW_SECONDS[l] - now) end
    out[#out + 1] = l; out[#out + 1] = str(total); out[#out + 1] = str(cap)
    out[#out + 1] = str(full_in)
  end
end
return out
