-- Creates the user: ARGV 7 name, 8 maxStreams or '', 9 policy or '', 10 token hash or ''.
if user_exists() then return {'conflict', {}, {}, {}} end
redis.call('HSET', user_key, 'name', ARGV[7])
if ARGV[8] ~= '' then redis.call('HSET', user_key, 'max', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', user_key, 'policy', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', user_key, 'token', ARGV[10]) end
return {'ok', {}, {}, {}}
