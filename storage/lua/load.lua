-- Load a table, skipping the table itself when the caller already has that version.
-- KEYS[1] state hash   ARGV[1] the version the caller holds (0 for none)
-- Returns {} for an unknown session, {v, seq} when the version is the caller's, else {v, seq, t}.
local state = redis.call('HMGET', KEYS[1], 'v', 'seq')
if not state[1] then
  return {}
end
if state[1] == ARGV[1] then
  return state
end
return {state[1], state[2], redis.call('HGET', KEYS[1], 't')}
