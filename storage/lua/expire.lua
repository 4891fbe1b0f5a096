-- Let a finished session go: free its join code now, forget its keys after a while.
-- KEYS[1] state hash   KEYS[2] event log   KEYS[3] presence zset   KEYS[4] join code key
-- KEYS[5] the narration lane's text
-- ARGV[1] session id   ARGV[2] expiry (ms)
if redis.call('GET', KEYS[4]) == ARGV[1] then
  redis.call('DEL', KEYS[4])
end
for _, i in ipairs({1, 2, 3, 5}) do
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return 1
