-- Settle a lease: refund, reconcile with the provider's headers, cool down, feed the breaker,
-- quarantine on auth failure, remember prompt-cache affinity.
-- KEYS: state hash, rph window, rpd window, breaker window hash, affinity key
-- ARGV: now, refund requests, refund input, refund output, health (s|f|n|a), cooldown,
--       consecutive_failures, failure_rate, window_seconds, min_requests,
--       then for rpm, itpm, otpm: snapshot_left, snapshot_taken, observed, tolerance
--       ('' when absent), then affinity fp ('' = none), affinity seconds, quarantine reason,
--       then for rpm, itpm, otpm: the limit the provider reported ('' when absent),
--       then the epoch of the reservation's snapshot ('' = none)
local now = clock(ARGV[1])
local skey = KEYS[1]
if redis.call('HEXISTS', skey, 'registered') == 0 then return {'0', '0', '0', 0, 0} end
local h = hash(skey)
local refund = {rpm = tonumber(ARGV[2]), itpm = tonumber(ARGV[3]), otpm = tonumber(ARGV[4])}
local health = ARGV[5]
local cooldown = tonumber(ARGV[6])
local updates = {}
local function set(f, v) updates[#updates + 1] = f; updates[#updates + 1] = v end

-- learned limits: a bucket's capacity is min(configured, reported); what is used is kept
for idx, l in ipairs(BUCKETS) do
  local reported = tonumber(ARGV[25 + idx])
  local cap = tonumber(h['cap:' .. l])
  if reported ~= nil and reported > 0 and cap ~= nil then
    local cfg = num(h['cfg:' .. l], cap)
    local eff = math.min(cfg, reported)
    if h['rep:' .. l] ~= str(reported) then set('rep:' .. l, str(reported)) end
    if h['cfg:' .. l] == nil then set('cfg:' .. l, str(cfg)) end
    if eff ~= cap then
      local _, lvl = bucket_level(h, l, now)
      lvl = eff - (cap - lvl)
      h['cap:' .. l] = str(eff); h['lvl:' .. l] = str(lvl); h['upd:' .. l] = str(now)
      set('cap:' .. l, str(eff))
      -- a shrink counts as taken (a growth as given back): drift against snapshots from
      -- before it stays right
      h['taken:' .. l] = str(num(h['taken:' .. l], 0) + cap - eff)
      set('taken:' .. l, h['taken:' .. l])
    end
  end
end

-- refund (or charge) the minute buckets, and reconcile each with the provider's report
local drift = {}
for idx, l in ipairs(BUCKETS) do
  local cap, lvl = bucket_level(h, l, now)
  local d = 0
  if cap ~= nil then
    lvl = math.min(cap, lvl + refund[l])
    local a = 11 + (idx - 1) * 4
    local left, taken_then = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    local observed, tolerance = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    -- A snapshot from an earlier key state (Redis lost it since) counts against counters
    -- that started over: nothing to reconcile against.
    if ARGV[29] ~= '' and ARGV[29] ~= h['epoch'] then left = nil end
    if left ~= nil and taken_then ~= nil and observed ~= nil then
      -- Everything reserved since may have reached the provider first: not drift.
      local since = num(h['taken:' .. l], 0) - taken_then
      local candidate = left - observed - since
      if candidate > tolerance then
        d = candidate; lvl = lvl - d
        -- a charge counts as taken, so a lease snapshotted earlier does not charge it again
        set('taken:' .. l, str(num(h['taken:' .. l], 0) + d))
      end
    end
    set('lvl:' .. l, str(lvl)); set('upd:' .. l, str(now))
  end
  drift[idx] = str(d)
end
-- a request that never reached the provider gives its window units back
if refund.rpm > 0 then
  for j, l in ipairs(WINDOWS) do
    if h['cap:' .. l] ~= nil then
      local len, total, slots = window_state(KEYS[1 + j], tonumber(h['cap:' .. l]), l, now)
      local give = refund.rpm
      for s = #slots, 1, -1 do
        if give <= 0 then break end
        local back = math.min(slots[s][2], give)
        redis.call('HINCRBYFLOAT', KEYS[1 + j], str(slots[s][1]), -back)
        give = give - back
      end
    end
  end
end
if cooldown > 0 then
  set('cool', str(math.max(num(h['cool'], 0), now + cooldown)))
end

-- breaker: consecutive failures, or the failure rate over a window counted per second
local opened, quarantined = 0, 0
local bstate = num(h['b:state'], 0)
local function open_breaker()
  set('b:state', '2'); set('b:opened', str(now)); set('b:probe', '0')
  set('b:opens', tostring(num(h['b:opens'], 0) + 1))
  opened = 1
end
if health == 's' or health == 'f' then
  local ok = health == 's'
  if bstate == 1 then
    if ok then
      set('b:state', '0'); set('b:consec', '0'); set('b:probe', '0')
      redis.call('DEL', KEYS[4])
    else
      open_breaker()
    end
  else
    local window = tonumber(ARGV[9])
    local sec = math.floor(now)
    local slot = tostring(sec % window)
    local stamp = tonumber(redis.call('HGET', KEYS[4], 't' .. slot))
    if stamp ~= sec then
      redis.call('HSET', KEYS[4], 't' .. slot, sec, 'n' .. slot, 0, 'f' .. slot, 0)
    end
    redis.call('HINCRBY', KEYS[4], 'n' .. slot, 1)
    redis.call('EXPIRE', KEYS[4], window * 2)
    if ok then
      set('b:consec', '0')
    else
      redis.call('HINCRBY', KEYS[4], 'f' .. slot, 1)
      local consec = num(h['b:consec'], 0) + 1
      set('b:consec', tostring(consec))
      if bstate == 0 then
        local total, failures = 0, 0
        local raw = redis.call('HGETALL', KEYS[4])
        local w = {}
        for i = 1, #raw, 2 do w[raw[i]] = tonumber(raw[i + 1]) end
        for s = 0, window - 1 do
          local t = w['t' .. s]
          if t ~= nil and t > sec - window then
            total = total + num(w['n' .. s], 0)
            failures = failures + num(w['f' .. s], 0)
          end
        end
        local rate_hit = total >= tonumber(ARGV[10]) and failures / total > tonumber(ARGV[8])
        if consec >= tonumber(ARGV[7]) or rate_hit then open_breaker() end
      end
    end
  end
elseif health == 'a' then
  if h['quarantined'] == nil then quarantined = 1 end
  set('quarantined', '1'); set('disabled', ARGV[25])
  if bstate == 1 then set('b:probe', '0') end
elseif bstate == 1 then
  set('b:probe', '0')
end
if #updates > 0 then redis.call('HSET', skey, unpack(updates)) end
if ARGV[23] ~= '' then
  redis.call('SET', KEYS[5], ARGV[23], 'EX', math.max(1, math.floor(tonumber(ARGV[24]))))
end
return {drift[1], drift[2], drift[3], quarantined, opened}
