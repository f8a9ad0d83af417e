-- Changes what is given: ARGV 7 name, 8 maxStreams, 9 policy, each '' to keep. Only the limit of
-- later starts changes: running streams keep playing. Result as view.lua.
if not user_exists() then return {'not_found', {}, {}, {}} end
if ARGV[7] ~= '' then redis.call('HSET', user_key, 'name', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', user_key, 'max', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', user_key, 'policy', ARGV[9]) end
local u = load_user()
local result = {u.name, u.max and tostring(u.max) or '', u.policy or '',
                tonumber(redis.call('GET', seq_key) or '0')}
for _, s in ipairs(load_streams()) do
  if s.expires > now then result[#result + 1] = stream_reply(s) end
end
return {'ok', result, {}, {}}
