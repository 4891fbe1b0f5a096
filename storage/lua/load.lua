-- Load a table with what the narration lane told, skipping the table itself when the caller
-- already has it: the same version of the same life of the session (a table restored from a
-- snapshot gets a new epoch, as it reuses old versions).
-- KEYS[1] state hash (see commit.lua)   KEYS[2] the lane's text
-- ARGV[1] the version the caller holds (0 for none)   ARGV[2] its epoch
-- Returns {} for an unknown session, else {v, seq, epoch, tn, tb, text} with the table (t)
-- appended unless it is the caller's; tn is nil for a table stored before the lane existed.
local state = redis.call('HMGET', KEYS[1], 'v', 'seq', 'e', 'tn', 'tb')
if not state[1] then
  return {}
end
local epoch, streaming = state[3] or '', state[4]
local text = ''
if streaming and streaming ~= '' then
  text = redis.call('GET', KEYS[2]) or ''
end
local reply = {state[1], state[2], epoch, streaming, state[5] or '', text}
if state[1] ~= ARGV[1] or epoch ~= ARGV[2] then
  reply[7] = redis.call('HGET', KEYS[1], 't')
end
return reply
