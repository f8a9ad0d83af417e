-- Ends the user's leases that ran out by Redis's clock; run by any worker that finds the user
-- due in the lease index. Two workers may run it at once: each end is published exactly once,
-- by the script that removed the stream.
local streams = expire_lapsed(load_streams())
return {'ok', {}, events, lease_index(streams)}
