-- Compare-and-commit of a group of users' states (worker/store/redis/redis_store_commit.cpp):
-- all of a batch's users on one Redis server, one slot's users on a Redis Cluster (where every
-- key of a script must be in one slot: each key carries its user's hash tag). No rule of
-- streamgate lives here: the decision core decided; this only applies each user's change list,
-- and only if no other worker committed that user since it was loaded. One call for many users,
-- and one write of the shared keys for all of them, because each call costs Redis about as much
-- as the write it makes: a user's commit is one HMGET, one HSET and one RPUSH in the common case.
--   KEYS: 1 the lease index of the group (zset U -> next expiry)  2 the group's live-stream count
--         (the worker knows each change exactly: it decided on the version this script checks),
--         then per user i, at 2 + 2 * (i - 1): 1 {user:U} (hash: v version, s state, a field
--         per live stream and per lease, n the starts written so far and a field per start)
--         2 {user:U}:audit (list, oldest first)
--   ARGV: 1 audit cap  2 the size of a user's ring of starts (start k is field q:<k mod size>),
--         then per user, in KEYS' order:
--         expected version; the next version (decimal: a Lua number would lose digits);
--         state bytes, or '' to remove the user (DELETE /api/v1/users); next expiry, '' for
--         none, or '=' when it is the one the loaded version had (whose commit wrote it to the
--         lease index already); U; change of U's live streams; n, the number of starts to write;
--         m, the number of audit rows; '1' when the hash is written anew (its starts numbered
--         from 0 again), else ''; f, the number of stream fields to set; d, the number to
--         delete; the n starts, oldest first; the m audit rows, oldest first; f field and value
--         pairs; d fields
-- Returns per user 1 when committed, 0 when its version differs (its state left as it was).
local leases, active = KEYS[1], KEYS[2]
local audit_cap, ring = tonumber(ARGV[1]), tonumber(ARGV[2])
local answers, renewed, ended, streams = {}, {}, {}, 0
-- In slices: unpack() stays far below Lua's C stack limit (LUAI_MAXCSTACK, 8000).
local function in_slices(command, key, list, first, last)
  for i = first, last, 1000 do
    redis.call(command, key, unpack(list, i, math.min(i + 999, last)))
  end
end
local a = 3
for k = 0, (#KEYS - 2) / 2 - 1 do
  local user, audit = KEYS[2*k+3], KEYS[2*k+4]
  local version, next_version, state = ARGV[a], ARGV[a+1], ARGV[a+2]
  local expiry, id, delta = ARGV[a+3], ARGV[a+4], ARGV[a+5]
  local n, m = tonumber(ARGV[a+6]), tonumber(ARGV[a+7])
  local whole, f, d = ARGV[a+8], tonumber(ARGV[a+9]), tonumber(ARGV[a+10])
  local first = a + 11
  local fields = first + n + m
  a = fields + 2 * f + d
  local held = redis.call('HMGET', user, 'v', 'n')
  if (held[1] or '0') ~= version then
    answers[k+1] = 0
  else
    answers[k+1] = 1
    streams = streams + tonumber(delta)
    if state == '' then
      redis.call('DEL', user, audit)
      ended[#ended+1] = id
    else
      local made = tonumber(held[2] or '0')
      -- Deleted first: a field both dropped and set ends up set.
      if whole == '1' then
        redis.call('DEL', user)
        made = 0
      end
      if d > 0 then in_slices('HDEL', user, ARGV, fields + 2 * f, a - 1) end
      local set = {'v', next_version, 's', state, 'n', made + n}
      for j = 0, n - 1 do
        set[#set+1] = 'q:' .. (made + j) % ring
        set[#set+1] = ARGV[first + j]
      end
      for i = fields, fields + 2 * f - 1 do set[#set+1] = ARGV[i] end
      in_slices('HSET', user, set, 1, #set)
      if expiry == '' then
        ended[#ended+1] = id
      elseif expiry ~= '=' then
        renewed[#renewed+1] = expiry
        renewed[#renewed+1] = id
      end
      -- Trimmed only when RPUSH says the list outgrew its cap: each call costs Redis about as
      -- much as the write itself.
      if m > 0 then
        if redis.call('RPUSH', audit, unpack(ARGV, first + n, first + n + m - 1)) > audit_cap then
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
