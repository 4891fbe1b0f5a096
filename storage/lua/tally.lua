-- Add to a counter that lives one window from its first addition (a fixed-window rate).
-- KEYS[1] the counter
-- ARGV[1] amount to add (0 only reads)   ARGV[2] window (ms)
-- Returns the count in the current window.
if ARGV[1] == '0' then
  return tonumber(redis.call('GET', KEYS[1]) or '0')
end
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return count
