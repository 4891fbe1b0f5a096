-- Put a lost session back at a stored version and seq (its log starts empty), claiming its
-- join code when the code is free.
-- KEYS[1] state hash   KEYS[2] join code key
-- ARGV[1] session id   ARGV[2] the table (bytes)   ARGV[3] version   ARGV[4] seq
-- ARGV[5] idle expiry (ms)
-- Returns 1, or 0 when the session exists (it was not lost, or was restored already).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'seq', ARGV[4], 't', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[5])
return 1
