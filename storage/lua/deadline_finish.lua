-- Finish a claimed deadline, if this claim is still the current one.
-- KEYS[1] claimed zset   KEYS[2] claimed hash   ARGV[1] member   ARGV[2] its due (ms)
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
