-- The narration lane: log a narration delta, add its text to the lane, ring the doorbell.
-- No version check and no table write: the table does not change.
-- KEYS[1] state hash (see commit.lua)   KEYS[2] event log stream   KEYS[3] the lane's text
-- KEYS[4] the session's doorbell (a shard channel)
-- ARGV[1] the narration the delta belongs to   ARGV[2] its text   ARGV[3] who told it
-- ARGV[4] events kept in the log   ARGV[5] idle expiry (ms)   ARGV[6] the event (bytes)
-- Returns the delta's seq, or 0 when the table does not stream that narration (or is gone).
local state = redis.call('HMGET', KEYS[1], 'seq', 'tn', 'tb')
if not state[1] or state[2] ~= ARGV[1] then
  return 0
end
local seq = tonumber(state[1]) + 1
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], seq .. '-0', 'e', ARGV[6])
redis.call('APPEND', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
local by = state[3] or ''
if string.find(',' .. by .. ',', ',' .. ARGV[3] .. ',', 1, true) then
  redis.call('HSET', KEYS[1], 'seq', seq)
else
  if by ~= '' then
    by = by .. ','
  end
  redis.call('HSET', KEYS[1], 'seq', seq, 'tb', by .. ARGV[3])
end
redis.call('SPUBLISH', KEYS[4], cmsgpack.pack({seq, ARGV[6]}))
return seq
