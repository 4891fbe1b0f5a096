-- Commit a table change: compare version, store the table, append the events, ring the doorbell.
-- KEYS[1] state hash (v = version, seq = last event seq, t = the table, e = restore epoch,
--         tn = the narration the table streams, '' for none, tb = who told the lane's text;
--         a hash without tn was written by a release before the lane, whose tables kept the
--         text of a streaming narration themselves)
-- KEYS[2] event log stream (entry id "<seq>-0", field e = the event)
-- KEYS[3] the narration lane's text (a string the lane appends to)
-- KEYS[4] the session's doorbell (a shard channel: it hashes with the session's keys; absent
--         when the caller rings it itself, once replicas hold the change)
-- ARGV[1] expected version
-- ARGV[2] the new table (bytes)
-- ARGV[3] events kept in the log
-- ARGV[4] idle expiry of the session's keys (ms)
-- ARGV[5] the narration the new table streams ('' for none)
-- ARGV[6..] the events (bytes), in order
-- Returns the first new seq, or -1 when the version does not match (nothing is changed).
local state = redis.call('HMGET', KEYS[1], 'v', 'seq', 'tn')
local version = tonumber(state[1] or '0')
if version ~= tonumber(ARGV[1]) then
  return -1
end
local seq = tonumber(state[2])
local first = seq + 1
local bell = {first}
for i = 6, #ARGV do
  seq = seq + 1
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], seq .. '-0', 'e', ARGV[i])
  bell[#bell + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], 'v', version + 1, 'seq', seq, 't', ARGV[2])
if state[3] ~= ARGV[5] then
  redis.call('HSET', KEYS[1], 'tn', ARGV[5], 'tb', '')
  redis.call('DEL', KEYS[3])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if seq >= first then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  if KEYS[4] then
    redis.call('SPUBLISH', KEYS[4], cmsgpack.pack(bell))
  end
end
return first
