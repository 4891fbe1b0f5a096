-- Load a table, skipping the table itself when the caller already has that version and seq
-- (both: a table restored from a snapshot reuses old versions, never old seqs).
-- KEYS[1] state hash   ARGV[1] the version the caller holds (0 for none)   ARGV[2] its seq
-- Returns {} for an unknown session, {v, seq} when it is the caller's, else {v, seq, t}.
local state = redis.call('HMGET', KEYS[1], 'v', 'seq')
if not state[1] then
  return {}
end
if state[1] == ARGV[1] and state[2] == ARGV[2] then
  return state
end
return {state[1], state[2], redis.call('HGET', KEYS[1], 't')}
