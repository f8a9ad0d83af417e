-- Stops every stream of the user (log-out). Result {how many ended}.
if not user_exists() then return {'not_found', {}, {}, {}} end
local streams = load_streams()
for _, s in ipairs(streams) do end_stream(s, 'stop_all') end
return {'ok', {#streams}, events, lease_index({})}
