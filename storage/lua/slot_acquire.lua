-- Take (or renew) one of a pool's slots until now + ttl (server clock). The pool itself goes
-- when its last slot would have (pools are many: one per player's sockets).
-- KEYS[1] the pool's zset (member = holder, score = expiry ms)
-- ARGV[1] holder   ARGV[2] limit   ARGV[3] ttl (ms)
-- Returns 1 when the holder has a slot, 0 when the pool is full.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
