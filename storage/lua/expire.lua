-- Let a finished session's keys go after a while (its join code is freed on its own key,
-- see code_free.lua).
-- KEYS[1] state hash   KEYS[2] event log   KEYS[3] presence zset   KEYS[4] the lane's text
-- ARGV[1] expiry (ms)
for _, key in ipairs(KEYS) do
  redis.call('PEXPIRE', key, ARGV[1])
end
return 1
