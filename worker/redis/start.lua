-- A start: ARGV 7 requestId, 8 videoId, 9 sessionId ('' for none), 10 '1' when the video is in
-- the catalog, 11 the id a new stream gets. Result: the verdict
-- {requestId, userId, videoId, sessionId, allowed 0|1, active, limit, reason, decidedAt,
--  granted stream or {}, streams when denied}, each stream {id, user, video, session, started,
--  expires}. Status 'replayed' when the requestId was decided before (the original verdict).
local request_key = KEYS[7]
local request_id, video_id, session_id = ARGV[7], ARGV[8], ARGV[9]
local video_known, new_stream_id = ARGV[10] == '1', ARGV[11]

if not user_exists() then return {'not_found', {}, {}, {}} end

local remembered = redis.call('GET', request_key)
if remembered then
  local original = cjson.decode(remembered)
  -- Published again: reaches a client that missed the first push, decides nothing.
  events[#events + 1] = {'verdict', next_seq(), original}
  return {'replayed', original, events, {}}
end

local u = load_user()
local streams = expire_lapsed(load_streams())
local limit = limit_of(u)
local v = {request_id, user_id, video_id, session_id, 0, 0, limit, '', now, {}, {}}

local function deny(reason)
  v[8] = reason
  local in_use = {}
  for _, s in ipairs(streams) do in_use[#in_use + 1] = stream_reply(s) end
  v[11] = in_use
end

local same_session = nil
if session_id ~= '' then
  for _, s in ipairs(streams) do
    if s.session == session_id then
      same_session = s
      break
    end
  end
end

if not video_known then
  deny('unknown_video')
elseif same_session then
  -- A reload or a retry of a playback that runs: activity, so the lease is renewed too.
  same_session.expires = now + lease_ms
  save_stream(same_session)
  v[5] = 1
  v[10] = stream_reply(same_session)
else
  -- Evicting under a limit of 0 would end streams and still deny.
  if #streams >= limit and limit > 0 and policy_of(u) == 'evict_oldest' then
    while #streams >= limit do
      end_stream(streams[1], 'evicted')
      table.remove(streams, 1)
    end
  end
  if #streams < limit then
    local s = {id = new_stream_id, video = video_id, session = session_id,
               started = now, expires = now + lease_ms}
    redis.call('RPUSH', list_key, s.id)
    save_stream(s)
    streams[#streams + 1] = s
    v[5] = 1
    v[10] = stream_reply(s)
  else
    deny('limit_reached')
  end
end
v[6] = #streams

redis.call('SET', request_key, cjson.encode(v), 'PX', memory_ms)
local granted_id = ''
if v[5] == 1 then granted_id = v[10][1] end
audit(v[5] == 1 and 'allowed' or 'denied', granted_id, request_id, video_id, v[8])
events[#events + 1] = {'verdict', next_seq(), v}
return {'decided', v, events, lease_index(streams)}
