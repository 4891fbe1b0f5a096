-- Cancel a deadline, claimed or not.
-- KEYS[1] due zset   KEYS[2] claimed zset   KEYS[3] claimed hash   (as in deadline_set.lua)
-- ARGV[1] member
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
