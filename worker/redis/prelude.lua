-- Prepended to every per-user script at load time (redis_scripts.cpp), so the scripts share one
-- layout. Every key a script touches is passed in KEYS and carries the hash tag {user:<id>}, so
-- a user's decision runs on one Redis Cluster slot, atomically.
--   KEYS: 1 user hash (name, max, policy)   2 list of stream ids, oldest first
--         3 hash stream id -> packed stream  4 event sequence counter   5 audit list, newest first
--         6 lease version counter            7 (start only) the request id's remembered verdict
--   ARGV: 1 user id  2 lease ms  3 default max streams  4 default policy  5 request memory ms
--         6 audit cap, then the op's own arguments from 7 on.
-- Every script returns {status, result, events, lease_index}: events are {'ended', seq, streamId,
-- reason} or {'verdict', seq, verdict}; lease_index is {} or {version, earliest expiry or -1,
-- live streams}.
-- Times are Redis's own clock (TIME), never a worker's, so all workers agree on every lease.
local SEP = '\31'
local user_key, list_key, data_key, seq_key, audit_key, version_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local user_id = ARGV[1]
local lease_ms = tonumber(ARGV[2])
local default_max = tonumber(ARGV[3])
local default_policy = ARGV[4]
local memory_ms = tonumber(ARGV[5])
local audit_cap = tonumber(ARGV[6])

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local events = {}

local function split(text)
  local fields, from = {}, 1
  while true do
    local at = string.find(text, SEP, from, true)
    if not at then
      fields[#fields + 1] = string.sub(text, from)
      return fields
    end
    fields[#fields + 1] = string.sub(text, from, at - 1)
    from = at + 1
  end
end

local function user_exists() return redis.call('EXISTS', user_key) == 1 end

-- {name, max or nil, policy or nil}
local function load_user()
  local f = redis.call('HMGET', user_key, 'name', 'max', 'policy')
  return {name = f[1] or '', max = f[2] and tonumber(f[2]) or nil, policy = f[3] or nil}
end

local function limit_of(u) return u.max or default_max end
local function policy_of(u) return u.policy or default_policy end

-- The user's streams, oldest first.
local function load_streams()
  local ids = redis.call('LRANGE', list_key, 0, -1)
  local streams = {}
  if #ids == 0 then return streams end
  local packed = redis.call('HMGET', data_key, unpack(ids))
  for i, id in ipairs(ids) do
    if packed[i] then
      local f = split(packed[i])
      streams[#streams + 1] = {id = id, video = f[1], session = f[2],
                               started = tonumber(f[3]), expires = tonumber(f[4])}
    end
  end
  return streams
end

local function save_stream(s)
  redis.call('HSET', data_key, s.id,
             table.concat({s.video, s.session, tostring(s.started), tostring(s.expires)}, SEP))
end

local function stream_reply(s)
  return {s.id, user_id, s.video, s.session, s.started, s.expires}
end

local function next_seq() return redis.call('INCR', seq_key) end

-- Capped: the audit trail is for reading recent history, not an archive.
local function audit(kind, stream_id, request_id, video_id, reason)
  redis.call('LPUSH', audit_key,
             table.concat({tostring(now), kind, stream_id, request_id, video_id, reason}, SEP))
  redis.call('LTRIM', audit_key, 0, audit_cap - 1)
end

local function end_stream(s, reason)
  redis.call('LREM', list_key, 1, s.id)
  redis.call('HDEL', data_key, s.id)
  events[#events + 1] = {'ended', next_seq(), s.id, reason}
  audit(reason, s.id, '', '', '')
end

-- A lease that ran out by Redis's clock ends here, whichever worker runs the script: the one
-- whose script removes a stream is the only one that publishes its end.
local function expire_lapsed(streams)
  local live = {}
  for _, s in ipairs(streams) do
    if s.expires <= now then end_stream(s, 'expired') else live[#live + 1] = s end
  end
  return live
end

-- What the worker writes into the global lease index after the script: versioned, so an older
-- script's answer never overwrites a newer one, whatever order the workers' updates arrive in.
-- Version 0 says there is no such user (an index entry a start of an unknown user left): the
-- entry goes, and no key is created for a user who does not exist.
local function lease_index(streams)
  if not user_exists() then return {0, -1, 0} end
  local earliest = -1
  for _, s in ipairs(streams) do
    if earliest < 0 or s.expires < earliest then earliest = s.expires end
  end
  return {redis.call('INCR', version_key), earliest, #streams}
end
