-- Compare-and-commit of one user's state (worker/store/redis/redis_store.cpp). No rule of
-- streamgate lives here: the decision core decided; this only applies the change list, and only
-- if no other worker committed the user since it was loaded. Every key carries the user's hash
-- tag's slot, so it runs on one Redis Cluster node, atomically.
--   KEYS: 1 {user:U} (hash: v version, s state)  2 {user:U}:audit (list, oldest first)
--         3 the lease index of U's slot (zset U -> next expiry)
--         4 the live-stream count of U's slot (the worker knows the change exactly: it decided
--           on the version this script checks)
--         5 {user:U}:starts (list of remembered starts, oldest first)
--   ARGV: 1 expected version  2 state bytes, or '' to remove the user (DELETE /api/v1/users)
--         3 next expiry or ''  4 U  5 audit cap  6 change of U's live streams
--         7 starts cap  8 request memory (ms)  9 n, the number of new starts
--         10..9+n the new starts, oldest first  then the audit rows, oldest first
-- Returns 1 when committed, 0 when the version differs (the state is left as it was).
if (redis.call('HGET', KEYS[1], 'v') or '0') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[5])
  redis.call('ZREM', KEYS[3], ARGV[4])
  if ARGV[6] ~= '0' then redis.call('INCRBY', KEYS[4], ARGV[6]) end
  return 1
end
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 's', ARGV[2])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[3], ARGV[4])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
end
if ARGV[6] ~= '0' then redis.call('INCRBY', KEYS[4], ARGV[6]) end
local starts = tonumber(ARGV[9])
if starts > 0 then
  redis.call('RPUSH', KEYS[5], unpack(ARGV, 10, 9 + starts))
  redis.call('LTRIM', KEYS[5], -tonumber(ARGV[7]), -1)
  redis.call('PEXPIRE', KEYS[5], ARGV[8])
end
if #ARGV > 9 + starts then
  redis.call('RPUSH', KEYS[2], unpack(ARGV, 10 + starts))
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
end
return 1
