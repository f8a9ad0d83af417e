-- wrk: POST /api/v1/users/{user}/streams?wait=true with random users and sessions.
-- Each request is a random user from a large pool and a fresh session, so most starts are
-- allowed and the worker does real work (decide, commit, publish), as at a premiere.
-- The users must exist: bench/run.sh creates them before the run (bench-u0 .. bench-u<N-1>,
-- maxStreams 1000, so a run of a few 100k starts stays under the limit).
--   BENCH_USERS  size of the pool (1000)
local users = tonumber(os.getenv("BENCH_USERS") or "1000")

-- wrk runs setup() and done() in the main Lua state and request()/response() in one state per
-- thread: the per-thread counters are fetched from the threads in done().
local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local counter = 0
local tag
statuses = {}

function init(args)
  -- LuaJIT's generator starts from the same seed in every thread and every run: without this,
  -- two threads, or two runs against one store, would send the same sessionIds, which the worker
  -- rightly answers with the existing stream (a session reuse), not a new decision.
  local seed = os.time() * 1000 + (thread_id or 0) * 7919 + math.floor(os.clock() * 1e6)
  math.randomseed(seed)
  tag = string.format("%x%x", seed % 0xffffff, math.random(0, 0xffffff))
end

request = function()
  counter = counter + 1
  local user = "bench-u" .. math.random(0, users - 1)
  local body = string.format('{"videoId":"v%02d","sessionId":"b%s-%d"}', math.random(1, 20),
                             tag, counter)
  return wrk.format("POST", "/api/v1/users/" .. user .. "/streams?wait=true",
                    {["Content-Type"] = "application/json"}, body)
end

response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function()
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.stderr:write(string.format("status %d: %d\n", status, n)) end
end
