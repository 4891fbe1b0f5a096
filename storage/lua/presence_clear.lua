-- Drop one connection's mark from its session's presence zset; return how many live
-- connections the player still has there (marks not yet expired).
-- KEYS[1] the session's presence zset   ARGV[1] player   ARGV[2] connection
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREM', KEYS[1], ARGV[1] .. '|' .. ARGV[2])
local live = 0
local mine = ARGV[1] .. '|'
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  if string.sub(member, 1, #mine) == mine then
    live = live + 1
  end
end
return live
