-- Claim the lapsed marks of one bucket of the presence index: those not refreshed before
-- their expiry (their process died). Each is removed as it is read, so exactly one caller
-- sees it; the caller then drops it from its session's zset (presence_clear.lua), which says
-- whether the player is left with no live connection.
-- KEYS[1] a bucket of the presence index (member "session|player|connection", score = expiry)
-- ARGV[1] limit
-- Returns the claimed members.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[1])
if #lapsed > 0 then
  redis.call('ZREM', KEYS[1], unpack(lapsed))
end
return lapsed
