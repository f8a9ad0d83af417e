-- wrk: the life of a playback over REST. Each connection alternates
--   POST /api/v1/users/{user}/streams?wait=true   (start, 201 with the stream)
--   DELETE /api/v1/users/{user}/streams/{streamId} (stop the stream it just got, 204)
-- so every user stays far below the limit and the store sees an insert and a delete per pair.
-- The users must exist (bench/run.sh creates bench-u0 .. bench-u<N-1>).
--   BENCH_USERS  size of the pool (1000)
local users = tonumber(os.getenv("BENCH_USERS") or "1000")

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local counter = 0
local tag
-- wrk pipelines nothing by default: per connection, response() of one request runs before the
-- next request() of that connection. With several connections per thread, though, requests and
-- responses of different connections interleave, so the streams to stop are kept in a queue.
local to_stop = {}
statuses = {}
starts, stops = 0, 0

function init(args)
  local seed = os.time() * 1000 + (thread_id or 0) * 7919 + math.floor(os.clock() * 1e6)
  math.randomseed(seed)
  tag = string.format("%x%x", seed % 0xffffff, math.random(0, 0xffffff))
end

request = function()
  local stop = table.remove(to_stop)
  if stop then
    stops = stops + 1
    return wrk.format("DELETE", "/api/v1/users/" .. stop.user .. "/streams/" .. stop.stream)
  end
  counter = counter + 1
  starts = starts + 1
  local user = "bench-u" .. math.random(0, users - 1)
  local body = string.format('{"videoId":"v%02d","sessionId":"m%s-%d"}', math.random(1, 20),
                             tag, counter)
  return wrk.format("POST", "/api/v1/users/" .. user .. "/streams?wait=true",
                    {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 and body then
    -- {"requestId":..,"verdict":"allowed","stream":{"streamId":"..","userId":"..",...},...}
    local stream = body:match('"streamId":"([%w_%-]+)"')
    local user = body:match('"userId":"([%w_%-]+)"')
    if stream and user then table.insert(to_stop, {user = user, stream = stream}) end
  end
end

done = function(summary)
  local total, s, t = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do total[status] = (total[status] or 0) + n end
    s = s + (thread:get("starts") or 0)
    t = t + (thread:get("stops") or 0)
  end
  for status, n in pairs(total) do io.stderr:write(string.format("status %d: %d\n", status, n)) end
  io.stderr:write(string.format("starts %d, stops %d\n", s, t))
end
