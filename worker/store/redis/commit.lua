-- Compare-and-commit of a group of users' states (worker/store/redis/redis_store_commit.cpp):
-- all of a batch's users on one Redis server, one slot's users on a Redis Cluster (where every
-- key of a script must be in one slot: each key carries its user's hash tag). No rule of
-- streamgate lives here: the decision core decided; this only applies each user's change list,
-- and only if no other worker committed that user since it was loaded. One call for many users,
-- because the call itself costs Redis more than the writes it makes.
--   KEYS: per user i, at 5 * (i - 1): 1 {user:U} (hash: v version, s state)
--         2 {user:U}:audit (list, oldest first)  3 the lease index of U's slot (zset U -> next
--         expiry)  4 the live-stream count of U's slot (the worker knows the change exactly: it
--         decided on the version this script checks)  5 {user:U}:starts (list, oldest first)
--   ARGV: 1 audit cap  2 starts cap  3 request memory (ms), then per user, in KEYS' order:
--         expected version; the next version (decimal: a Lua number would lose digits);
--         state bytes, or '' to remove the user (DELETE /api/v1/users); next expiry, '' for
--         none, or '=' when it is the one the loaded version had (whose commit wrote it to the
--         lease index already); U; change of U's live streams; n, the number of new starts; m,
--         the number of audit rows; the n starts, oldest first; the m audit rows, oldest first
-- Returns per user 1 when committed, 0 when its version differs (its state left as it was).
local audit_cap, starts_cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local answers = {}
local a = 4
for k = 0, #KEYS / 5 - 1 do
  local user, audit, leases = KEYS[5*k+1], KEYS[5*k+2], KEYS[5*k+3]
  local active, starts = KEYS[5*k+4], KEYS[5*k+5]
  local version, next_version, state = ARGV[a], ARGV[a+1], ARGV[a+2]
  local expiry, id, delta = ARGV[a+3], ARGV[a+4], ARGV[a+5]
  local n, m = tonumber(ARGV[a+6]), tonumber(ARGV[a+7])
  local first = a + 8
  a = first + n + m
  if (redis.call('HGET', user, 'v') or '0') ~= version then
    answers[k+1] = 0
  else
    answers[k+1] = 1
    if delta ~= '0' then redis.call('INCRBY', active, delta) end
    if state == '' then
      redis.call('DEL', user, audit, starts)
      redis.call('ZREM', leases, id)
    else
      redis.call('HSET', user, 'v', next_version, 's', state)
      if expiry == '' then
        redis.call('ZREM', leases, id)
      elseif expiry ~= '=' then
        redis.call('ZADD', leases, expiry, id)
      end
      -- Each call from here costs Redis about as much as the write itself, so a list is
      -- trimmed only when RPUSH says it outgrew its cap.
      if n > 0 then
        if redis.call('RPUSH', starts, unpack(ARGV, first, first + n - 1)) > starts_cap then
          redis.call('LTRIM', starts, -starts_cap, -1)
        end
        redis.call('PEXPIRE', starts, ARGV[3])
      end
      if m > 0 then
        if redis.call('RPUSH', audit, unpack(ARGV, first + n, first + n + m - 1)) > audit_cap then
          redis.call('LTRIM', audit, -audit_cap, -1)
        end
      end
    end
  end
end
return answers
