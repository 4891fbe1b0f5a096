-- Put a lost session back at a stored version and seq (its log starts empty) with the text
-- its streaming narration had told. Its join code is claimed afterwards, on its own key.
-- KEYS[1] state hash (see commit.lua)   KEYS[2] the lane's text
-- ARGV[1] the table (bytes)   ARGV[2] version   ARGV[3] seq   ARGV[4] idle expiry (ms)
-- ARGV[5] a new epoch   ARGV[6] the narration it streams ('')   ARGV[7] the text told of it
-- ARGV[8] who told it
-- Returns 1, or 0 when the session exists (it was not lost, or was restored already).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'seq', ARGV[3], 't', ARGV[1], 'e', ARGV[5],
  'tn', ARGV[6], 'tb', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[4])
return 1
