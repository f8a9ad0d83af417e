-- Renews one lease: ARGV 7 streamId. Result {expiresAt}.
local stream_id = ARGV[7]
local streams = expire_lapsed(load_streams())
for _, s in ipairs(streams) do
  if s.id == stream_id then
    s.expires = now + lease_ms
    save_stream(s)
    return {'ok', {s.expires}, events, lease_index(streams)}
  end
end
-- Leases that lapsed on the way still ended, so their events go out.
return {'not_found', {}, events, lease_index(streams)}
