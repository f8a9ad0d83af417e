-- The verdict remembered for a requestId (KEYS 7), as start.lua returns it; 'not_found' once
-- it left the request memory.
local remembered = redis.call('GET', KEYS[7])
if not remembered then return {'not_found', {}, {}, {}} end
return {'ok', cjson.decode(remembered), {}, {}}
