-- Create a session at version 1, seq 0 (its join code is claimed before, on its own key).
-- KEYS[1] state hash
-- ARGV[1] the table (bytes)   ARGV[2] idle expiry (ms)
-- Returns 1, or 0 when the session exists already.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', 1, 'seq', 0, 't', ARGV[1], 'tn', '', 'tb', '')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
