-- Claim the deadlines due at `now`; each is returned to exactly one caller.
-- KEYS[1] due zset   KEYS[2] claimed zset   KEYS[3] claimed hash   (as in deadline_set.lua)
-- ARGV[1] now (ms)   ARGV[2] lease of a claim (ms)   ARGV[3] limit
-- Claims whose lease ran out unfinished are due again first. Returns member1, due1, ...
local now = tonumber(ARGV[1])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  local due = redis.call('HGET', KEYS[3], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('HDEL', KEYS[3], member)
  if due then
    redis.call('ZADD', KEYS[1], due, member)
  end
end
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, ARGV[3])
for i = 1, #due, 2 do
  local member, at = due[i], due[i + 1]
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), member)
  redis.call('HSET', KEYS[3], member, at)
  out[#out + 1] = member
  out[#out + 1] = at
end
return out
