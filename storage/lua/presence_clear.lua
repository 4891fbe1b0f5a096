-- Drop one connection's mark; return how many live connections the player still has.
-- KEYS[1] the session's presence zset   KEYS[2] the global presence zset
-- ARGV[1] session   ARGV[2] player   ARGV[3] connection
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREM', KEYS[1], ARGV[2] .. '|' .. ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[3])
local live = 0
local mine = ARGV[2] .. '|'
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  if string.sub(member, 1, #mine) == mine then
    live = live + 1
  end
end
return live
