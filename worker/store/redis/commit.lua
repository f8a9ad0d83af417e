-- Compare-and-commit of a group of users' states (worker/store/redis/redis_store_commit.cpp):
-- all of a batch's users on one Redis server, one slot's users on a Redis Cluster (where every
-- key of a script must be in one slot: each key carries its user's hash tag). No rule of
-- streamgate lives here: the decision core decided; this only applies each user's change list,
-- and only if no other worker committed that user since it was loaded. One call for many users,
-- and one write of the shared keys for all of them, because each call costs Redis about as much
-- as the write it makes: a user's commit is one HGET, one HSET and one RPUSH in the common case.
-- The worker sends every field of the HSET ready made, so the script builds no table and no
-- string per user: its own work costs Redis about as much as those three commands
-- (bench/HISTORY.md, session 30).
--   KEYS: 1 the lease index of the group (zset U -> next expiry)  2 the group's live-stream count
--         (the worker knows each change exactly: it decided on the version this script checks),
--         then per user i, at 2 + 2 * (i - 1): 1 {user:U} (hash: v version, s state, a field
--         per live stream and per lease, n the starts written so far and a field per start)
--         2 {user:U}:audit (list, oldest first)
--   ARGV: 1 audit cap, then per user, in KEYS' order:
--         expected version; next expiry, '' for none, or '=' when it is the one the loaded
--         version had (whose commit wrote it to the lease index already); U; change of U's live
--         streams; mode: '' to write the fields given, '1' to write the hash anew with them, '-'
--         to remove the user (DELETE /api/v1/users); h, the number of HSET arguments (fields and
--         values: v, s, n, the starts and the streams); d, the number of fields to delete; m, the
--         number of audit rows; the h arguments; the d fields; the m audit rows, oldest first
-- Returns per user 1 when committed, 0 when its version differs (its state left as it was).
local leases, active = KEYS[1], KEYS[2]
local audit_cap = tonumber(ARGV[1])
local answers, renewed, ended, streams = {}, {}, {}, 0
-- In slices: unpack() stays far below Lua's C stack limit (LUAI_MAXCSTACK, 8000). Each slice
-- is even, so HSET's fields stay with their values.
local function in_slices(command, key, list, first, last)
  for i = first, last, 1000 do
    redis.call(command, key, unpack(list, i, math.min(i + 999, last)))
  end
end
local a = 2
for k = 0, (#KEYS - 2) / 2 - 1 do
  local user, audit = KEYS[2*k+3], KEYS[2*k+4]
  local version, expiry, id, delta, mode = ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4]
  local h, d, m = tonumber(ARGV[a+5]), tonumber(ARGV[a+6]), tonumber(ARGV[a+7])
  local first = a + 8
  a = first + h + d + m
  if (redis.call('HGET', user, 'v') or '0') ~= version then
    answers[k+1] = 0
  else
    answers[k+1] = 1
    streams = streams + tonumber(delta)
    if mode == '-' then
      redis.call('DEL', user, audit)
      ended[#ended+1] = id
    else
      if mode == '1' then redis.call('DEL', user) end
      -- Deleted first: a field both dropped and set ends up set.
      if d > 0 then in_slices('HDEL', user, ARGV, first + h, first + h + d - 1) end
      in_slices('HSET', user, ARGV, first, first + h - 1)
      if expiry == '' then
        ended[#ended+1] = id
      elseif expiry ~= '=' then
        renewed[#renewed+1] = expiry
        renewed[#renewed+1] = id
      end
      -- Trimmed only when RPUSH says the list outgrew its cap: each call costs Redis about as
      -- much as the write itself.
      if m > 0 then
        if redis.call('RPUSH', audit, unpack(ARGV, first + h + d, a - 1)) > audit_cap then
          redis.call('LTRIM', audit, -audit_cap, -1)
        end
      end
    end
  end
end
if streams ~= 0 then redis.call('INCRBY', active, streams) end
in_slices('ZADD', leases, renewed, 1, #renewed)
in_slices('ZREM', leases, ended, 1, #ended)
return answers
