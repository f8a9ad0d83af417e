-- Reads a user without changing anything. Result {name, max or '', policy or '', seq,
-- live streams...}; a lease that ran out is left to the expiry but not shown.
if not user_exists() then return {'not_found', {}, {}, {}} end
local u = load_user()
local result = {u.name, u.max and tostring(u.max) or '', u.policy or '',
                tonumber(redis.call('GET', seq_key) or '0')}
for _, s in ipairs(load_streams()) do
  if s.expires > now then result[#result + 1] = stream_reply(s) end
end
return {'ok', result, {}, {}}
