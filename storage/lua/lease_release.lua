-- Give a lease up, if the holder still has it. KEYS[1] the lease   ARGV[1] holder
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
