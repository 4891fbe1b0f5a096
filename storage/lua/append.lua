-- The narration lane: log a narration delta, add its text to the lane, ring the doorbell.
-- No version check and no table write: the table does not change.
-- KEYS[1] state hash (see commit.lua)   KEYS[2] event log stream   KEYS[3] the lane's text
-- KEYS[4] the narration's lease   KEYS[5] the session's doorbell (a shard channel; absent
-- when the caller rings it itself, once replicas hold the delta)
-- ARGV[1] the narration the delta belongs to   ARGV[2] its text   ARGV[3] who told it
-- ARGV[4] events kept in the log   ARGV[5] idle expiry (ms)   ARGV[6] the event (bytes)
-- ARGV[7] the teller, who must hold the lease ('' for a caller that holds none)
-- Returns the delta's seq, 0 when the table does not stream that narration (or is gone), or
-- -1 when the teller does not hold the lease (nothing is changed).
local state = redis.call('HMGET', KEYS[1], 'seq', 'tn', 'tb')
if not state[1] or state[2] ~= ARGV[1] then
  return 0
end
if ARGV[7] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[7] then
  return -1
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
if KEYS[5] then
  redis.call('SPUBLISH', KEYS[5], cmsgpack.pack({seq, ARGV[6]}))
end
return seq
