-- Records a user's earliest lease expiry in the global index: KEYS 1 the index (ZSET), 2 the
-- versions (HASH user -> version); ARGV 1 user, 2 version from the user's script, 3 earliest
-- expiry or -1 for none. An update older than the one recorded is ignored, so concurrent workers
-- leave the newest answer whatever the order their updates arrive in. Versions are kept after a
-- removal for the same reason.
local user, version, earliest = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if version == 0 then
  -- No such user (prelude.lua's lease_index): nothing to expire there.
  redis.call('ZREM', KEYS[1], user)
  return 1
end
local known = tonumber(redis.call('HGET', KEYS[2], user) or '0')
if version <= known then return 0 end
redis.call('HSET', KEYS[2], user, version)
if earliest < 0 then
  redis.call('ZREM', KEYS[1], user)
else
  redis.call('ZADD', KEYS[1], earliest, user)
end
return 1
