-- The user's newest audit entries: ARGV 7 how many. Result: packed entries, newest first.
if not user_exists() then return {'not_found', {}, {}, {}} end
return {'ok', redis.call('LRANGE', audit_key, 0, tonumber(ARGV[7]) - 1), {}, {}}
