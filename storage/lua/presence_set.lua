-- Mark a player connected through one connection until now + ttl (server clock).
-- KEYS[1] the session's presence zset (member "player|connection", score = expiry ms)
-- KEYS[2] the global presence zset (member "session|player|connection", score = expiry ms)
-- ARGV[1] session   ARGV[2] player   ARGV[3] connection   ARGV[4] ttl (ms)   ARGV[5] idle expiry (ms)
local t = redis.call('TIME')
local expiry = t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], expiry, ARGV[2] .. '|' .. ARGV[3])
redis.call('ZADD', KEYS[2], expiry, ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
