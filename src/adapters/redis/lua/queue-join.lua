-- KEYS: queue, admitted, arrivals, contacts. ARGV: user, now, queue key ('' = next
-- arrival), email ('' = none: where to say "your turn", kept until the admission).
-- Returns {'admitted', expiresAt} or {'waiting', rank}.
local user, now = ARGV[1], tonumber(ARGV[2])
local expires = redis.call('ZSCORE', KEYS[2], user)
if expires then
  if tonumber(expires) > now then return {'admitted', expires} end
  redis.call('ZREM', KEYS[2], user)
end
local rank = redis.call('ZRANK', KEYS[1], user)
if not rank then
  local key = ARGV[3]
  if key == '' then key = 1 + redis.call('INCR', KEYS[3]) end
  redis.call('ZADD', KEYS[1], key, user)
  rank = redis.call('ZRANK', KEYS[1], user)
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[4], user, ARGV[4]) end
return {'waiting', tostring(rank)}
