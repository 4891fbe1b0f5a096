-- Claim lapsed presence marks: those not refreshed before their expiry (their process died).
-- KEYS[1] the global presence zset (member "session|player|connection", score = expiry ms)
-- ARGV[1] key prefix (the session's presence zset is <prefix>pres:<session>)   ARGV[2] limit
-- Returns a flat list session1, player1, ... of players left with no live connection.
-- Each lapsed mark is removed as it is read, so exactly one caller sees it.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local out = {}
local seen = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[2])) do
  redis.call('ZREM', KEYS[1], member)
  local session, player, connection = string.match(member, '^([^|]*)|([^|]*)|(.*)$')
  local key = ARGV[1] .. 'pres:' .. session
  redis.call('ZREM', key, player .. '|' .. connection)
  local live = false
  for _, other in ipairs(redis.call('ZRANGEBYSCORE', key, '(' .. now, '+inf')) do
    if string.sub(other, 1, #player + 1) == player .. '|' then
      live = true
    end
  end
  if not live and not seen[session .. '|' .. player] then
    seen[session .. '|' .. player] = true
    out[#out + 1] = session
    out[#out + 1] = player
  end
end
return out
