-- Set or move a deadline (dropping a claimed, unfinished copy of it).
-- KEYS[1] due zset (member "session|kind|key", score = due ms)
-- KEYS[2] claimed zset (member as above, score = end of the claim's lease, ms)
-- KEYS[3] claimed hash (member -> its due)
-- ARGV[1] member   ARGV[2] due (ms)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
