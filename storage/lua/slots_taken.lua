-- How many of a pool's slots are held now: holders whose time-to-live has not run out (server
-- clock, as slot_acquire.lua counts them).
-- KEYS[1] the pool's zset (member = holder, score = expiry ms)
-- Returns the count.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
