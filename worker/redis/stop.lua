-- Stops one stream: ARGV 7 streamId. Looks only among this user's streams, which is what keeps
-- another user's stream unseen.
local stream_id = ARGV[7]
local streams = load_streams()
for i, s in ipairs(streams) do
  if s.id == stream_id then
    end_stream(s, 'stopped')
    table.remove(streams, i)
    return {'ok', {}, events, lease_index(streams)}
  end
end
return {'not_found', {}, {}, {}}
