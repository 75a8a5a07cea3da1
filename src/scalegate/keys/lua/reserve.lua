-- Choose an eligible key among the candidates and reserve the demand on all its limits.
-- KEYS: replicas hash, affinity key, then per candidate: state hash, waiting hash,
--       rph window, rpd window
-- ARGV: now, n, requests, input, output, strategy ("l"|"r"), rank, skew seconds, turn,
--       breaker cooldown seconds, replica liveness seconds, complete (1: every eligible key
--       is a candidate; 0: a sample), then per candidate: fp, weight
-- A sample that lacks the key holding the prompt-cache prefix answers {-2, 0, 'affinity',
-- that key} and reserves nothing: the caller offers it (when it may) and asks again.
local now = clock(ARGV[1])
local n = tonumber(ARGV[2])
local amount = {rpm = tonumber(ARGV[3]), itpm = tonumber(ARGV[4]), otpm = tonumber(ARGV[5]),
                rph = tonumber(ARGV[3]), rpd = tonumber(ARGV[3])}
local strategy = ARGV[6]
local rank = tonumber(ARGV[7])
local skew = tonumber(ARGV[8])
local turn = tonumber(ARGV[9])
local breaker_cooldown = tonumber(ARGV[10])
local alive_for = tonumber(ARGV[11])
local complete = ARGV[12] == '1'
local preferred = redis.call('GET', KEYS[2])

if preferred and not complete then
  local offered = false
  for i = 1, n do
    if ARGV[12 + 2 * i - 1] == preferred then offered = true; break end
  end
  if not offered then return {-2, '0', 'affinity', preferred} end
end

local function higher_priority_waiting(wkey)
  local raw = redis.call('HGETALL', wkey)
  for i = 1, #raw, 2 do
    local replica, r = string.match(raw[i], '^(.*):(%d+)$')
    if r ~= nil and tonumber(r) < rank then
      local seen = tonumber(redis.call('HGET', KEYS[1], replica))
      if seen ~= nil and seen >= now - alive_for then return true end
    end
  end
  return false
end

local best, best_score, best_state = nil, nil, nil
local min_wait, reason = math.huge, 'disabled'
local missing = {}
for k = 0, n - 1 do
  local i = ((turn + k) % n) + 1
  local base = 2 + (i - 1) * 4
  local skey, wkey = KEYS[base + 1], KEYS[base + 2]
  local fp, weight = ARGV[12 + 2 * i - 1], tonumber(ARGV[12 + 2 * i])
  local h = hash(skey)
  if h['registered'] == nil then missing[#missing + 1] = fp end
  if h['registered'] ~= nil and h['disabled'] == nil then
    local wait, why = 0, nil
    -- breaker: open until its cooldown passes, then one probe at a time
    local bstate = num(h['b:state'], 0)
    if bstate == 2 then
      local left = num(h['b:opened'], 0) + breaker_cooldown - now
      if left > 0 then wait, why = left, 'breaker' else bstate = 1; h['b:probe'] = '0' end
    end
    if wait == 0 and bstate == 1 and h['b:probe'] == '1' then wait, why = 0.25, 'breaker' end
    if wait == 0 then
      local cool = num(h['cool'], 0) - now
      if cool > 0 then wait, why = cool, 'cooldown' end
    end
    local levels, util, windows = {}, 0, {}
    if wait == 0 then
      for _, l in ipairs(BUCKETS) do
        local cap, lvl = bucket_level(h, l, now)
        if cap ~= nil then
          levels[l] = {cap, lvl}
          local need = math.min(cap, amount[l] + skew * cap / 60)
          if lvl < need then
            local w = (need - lvl) / (cap / 60)
            if w > wait then wait, why = w, l end
          end
          util = math.max(util, (cap - lvl + amount[l]) / cap)
        end
      end
      for j, l in ipairs(WINDOWS) do
        local cap = tonumber(h['cap:' .. l])
        if cap ~= nil then
          local len, total, slots = window_state(KEYS[base + 2 + j], cap, l, now)
          windows[l] = {cap, total}
          local w = window_wait(cap, len, total, slots, amount[l], l, now)
          if w > wait then wait, why = w, l end
          util = math.max(util, (total + amount[l]) / cap)
        end
      end
    end
    if wait == 0 and higher_priority_waiting(wkey) then wait, why = 0.05, 'priority' end
    if wait > 0 then
      if wait < min_wait then min_wait, reason = wait, why end
    else
      local score = -util / weight
      if fp == preferred or strategy == 'r' then
        best, best_state = i, {h = h, levels = levels, windows = windows, bstate = bstate}
        break
      end
      if best_score == nil or score > best_score then
        best, best_score = i, score
        best_state = {h = h, levels = levels, windows = windows, bstate = bstate}
      end
    end
  end
end

if best == nil then
  if #missing > 0 then
    -- State lost (Redis restarted empty, or flushed): the caller registers these and retries;
    -- keys it cannot register (removed) leave the others' wait and reason as the answer.
    local out = {-1, str(min_wait), reason}
    for _, fp in ipairs(missing) do out[#out + 1] = fp end
    return out
  end
  return {0, str(min_wait), reason}
end

local base = 2 + (best - 1) * 4
local skey = KEYS[base + 1]
local out = {best, '0', ''}
local updates = {}
for _, l in ipairs(BUCKETS) do
  local lv = best_state.levels[l]
  if lv ~= nil then
    local left = lv[2] - amount[l]
    local taken = num(best_state.h['taken:' .. l], 0) + amount[l]
    updates[#updates + 1] = 'lvl:' .. l; updates[#updates + 1] = str(left)
    updates[#updates + 1] = 'upd:' .. l; updates[#updates + 1] = str(now)
    updates[#updates + 1] = 'taken:' .. l; updates[#updates + 1] = str(taken)
    out[#out + 1] = l; out[#out + 1] = str((lv[1] - left) / lv[1])
    out[#out + 1] = str(left); out[#out + 1] = str(taken)
  end
end
-- the key state the snapshot counts in: a settle from an earlier one is not reconciled
out[#out + 1] = 'epoch'; out[#out + 1] = '0'; out[#out + 1] = best_state.h['epoch'] or ''
out[#out + 1] = ''
for j, l in ipairs(WINDOWS) do
  local wv = best_state.windows[l]
  if wv ~= nil then
    local len = WINDOW_SECONDS[l] / WINDOW_SLOTS[l]
    local start = now - (now % len)
    redis.call('HINCRBYFLOAT', KEYS[base + 2 + j], str(start), amount[l])
    redis.call('EXPIRE', KEYS[base + 2 + j], WINDOW_SECONDS[l] + 2 * len)
    out[#out + 1] = l; out[#out + 1] = str((wv[2] + amount[l]) / wv[1])
    out[#out + 1] = ''; out[#out + 1] = ''
  end
end
if best_state.bstate == 1 then
  updates[#updates + 1] = 'b:state'; updates[#updates + 1] = '1'
  updates[#updates + 1] = 'b:probe'; updates[#updates + 1] = '1'
end
if #updates > 0 then redis.call('HSET', skey, unpack(updates)) end
return out
