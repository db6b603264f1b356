-- KEYS: meta, log. ARGV: epochVersion, channel, eventId. Ends a rebuild: a new version
-- past every earlier one, an empty log, and a reset for every listener.
local version = tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version <= current then version = current + 1 end
local id = string.format('%d', version)
redis.call('HSET', KEYS[1], 'version', id, 'warm', '1')
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[2], ARGV[3] .. '|' .. id .. '|*')
return version
