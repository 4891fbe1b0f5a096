-- Create a session at version 1, seq 0, claiming its join code.
-- KEYS[1] state hash   KEYS[2] join code key
-- ARGV[1] session id   ARGV[2] the table (bytes)   ARGV[3] idle expiry (ms)
-- Returns 1, or 0 when the code already names a session.
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3]) == false then
  return 0
end
redis.call('HSET', KEYS[1], 'v', 1, 'seq', 0, 't', ARGV[2], 'tn', '', 'tb', '')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
