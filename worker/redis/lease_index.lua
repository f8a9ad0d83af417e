-- Records a user's earliest lease expiry in the global index and their count of live streams:
-- KEYS 1 the index (ZSET user -> earliest expiry), 2 the versions (HASH user -> version), 3 the
-- live streams per user (HASH), 4 their total (the streamgate_active_streams gauge); ARGV 1 user,
-- 2 version from the user's script, 3 earliest expiry or -1 for none, 4 live streams. An update
-- older than the one recorded is ignored, so concurrent workers leave the newest answer whatever
-- the order their updates arrive in. Versions are kept after a removal for the same reason.
local user, version = ARGV[1], tonumber(ARGV[2])
local earliest, active = tonumber(ARGV[3]), tonumber(ARGV[4])

local function count(live)
  local before = tonumber(redis.call('HGET', KEYS[3], user) or '0')
  if live == 0 then
    redis.call('HDEL', KEYS[3], user)
  else
    redis.call('HSET', KEYS[3], user, live)
  end
  if live ~= before then redis.call('INCRBY', KEYS[4], live - before) end
end

if version == 0 then
  -- No such user (prelude.lua's lease_index): nothing to expire there.
  redis.call('ZREM', KEYS[1], user)
  count(0)
  return 1
end
local known = tonumber(redis.call('HGET', KEYS[2], user) or '0')
if version <= known then return 0 end
redis.call('HSET', KEYS[2], user, version)
count(active)
if earliest < 0 then
  redis.call('ZREM', KEYS[1], user)
else
  redis.call('ZADD', KEYS[1], earliest, user)
end
return 1
