-- The users with a lease due by Redis's clock: KEYS 1 the lease index (ZSET user -> earliest
-- expiry), ARGV 1 how many at most. Result {ms until the next entry is due or -1, users...}.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local result = {-1}
if #due == 0 then
  local next_entry = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #next_entry == 2 then result[1] = math.max(0, tonumber(next_entry[2]) - now) end
else
  result[1] = 0
end
for _, user in ipairs(due) do result[#result + 1] = user end
return result
