-- Set informational fields on a job that still exists (never recreates a removed one).
-- KEYS: 1 job hash; ARGV: field/value pairs
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
