-- KEYS: generation key. ARGV: key prefix, query key. Returns {generation, answer or false}.
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
