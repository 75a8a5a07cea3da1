-- Shared by every key-store script (prepended to each one when it is loaded).
-- Time: ARGV carries "now"; a negative value means "use the Redis server's clock", so every
-- replica measures refill and cooldowns against one clock.
local function clock(arg)
  local now = tonumber(arg)
  if now < 0 then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1e6
  end
  return now
end

local function num(x, default)
  local v = tonumber(x)
  if v == nil then return default end
  return v
end

local function str(x)
  return string.format('%.17g', x)
end

local BUCKETS = {'rpm', 'itpm', 'otpm'}
local WINDOWS = {'rph', 'rpd'}
local WINDOW_SECONDS = {rph = 3600, rpd = 86400, tpd = 86400}
local WINDOW_SLOTS = {rph = 60, rpd = 144, tpd = 144}

-- A minute bucket's level now (refilled continuously at cap/60 per second); nil = no limit.
local function bucket_level(h, l, now)
  local cap = tonumber(h['cap:' .. l])
  if cap == nil then return nil, nil end
  local lvl = num(h['lvl:' .. l], cap)
  local upd = num(h['upd:' .. l], now)
  if now > upd then
    lvl = math.min(cap, lvl + (now - upd) * cap / 60)
  end
  return cap, lvl
end

-- A sliding window (hour or day) counted in slots; drops slots that left the window.
-- Returns cap, total, and the live slots oldest first ({slot_start, count}).
local function window_state(wkey, cap, l, now)
  local len = WINDOW_SECONDS[l] / WINDOW_SLOTS[l]
  local raw = redis.call('HGETALL', wkey)
  local slots, total, dead = {}, 0, {}
  for i = 1, #raw, 2 do
    local start = tonumber(raw[i])
    local count = tonumber(raw[i + 1])
    if start + len <= now - WINDOW_SECONDS[l] then
      dead[#dead + 1] = raw[i]
    else
      slots[#slots + 1] = {start, count}
      total = total + count
    end
  end
  if #dead > 0 then redis.call('HDEL', wkey, unpack(dead)) end
  table.sort(slots, function(a, b) return a[1] < b[1] end)
  return len, total, slots
end

local function window_wait(cap, len, total, slots, amount, l, now)
  local excess = total + amount - cap
  if excess <= 0 then return 0 end
  local freed = 0
  for _, s in ipairs(slots) do
    freed = freed + s[2]
    if freed >= excess then
      return math.max(0, s[1] + len + WINDOW_SECONDS[l] - now)
    end
  end
  return WINDOW_SECONDS[l]
end

-- The hash's fields as a table.
local function hash(key)
  local raw = redis.call('HGETALL', key)
  local h = {}
  for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
  return h
end
