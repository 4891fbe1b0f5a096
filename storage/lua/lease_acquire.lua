-- Take or renew a lease for ttl ms. KEYS[1] the lease   ARGV[1] holder   ARGV[2] ttl (ms)
-- Returns 1 when the holder has it, 0 when someone else does.
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
