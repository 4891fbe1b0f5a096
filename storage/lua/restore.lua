-- Put a lost session back at a stored version and seq (its log starts empty) with the text
-- its streaming narration had told, claiming its join code when the code is free.
-- KEYS[1] state hash (see commit.lua)   KEYS[2] join code key   KEYS[3] the lane's text
-- ARGV[1] session id   ARGV[2] the table (bytes)   ARGV[3] version   ARGV[4] seq
-- ARGV[5] idle expiry (ms)   ARGV[6] a new epoch   ARGV[7] the narration it streams ('')
-- ARGV[8] the text told of it   ARGV[9] who told it
-- Returns 1, or 0 when the session exists (it was not lost, or was restored already).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'seq', ARGV[4], 't', ARGV[2], 'e', ARGV[6],
  'tn', ARGV[7], 'tb', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[3], ARGV[8], 'PX', ARGV[5])
redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[5])
return 1
