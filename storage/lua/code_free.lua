-- Free a join code, if it still names the session (a code is reused once freed).
-- KEYS[1] the join code key   ARGV[1] session id
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
