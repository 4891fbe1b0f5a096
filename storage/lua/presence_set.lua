-- Mark a member present until now + ttl (this shard's clock): a player's connection in its
-- session's presence zset (member "player|connection"), or the same connection in a bucket
-- of the presence index (member "session|player|connection"), which on a Cluster lives on
-- another shard and is written apart.
-- KEYS[1] the zset (score = expiry ms)
-- ARGV[1] member   ARGV[2] ttl (ms)   ARGV[3] idle expiry of the zset (ms)
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
