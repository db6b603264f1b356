-- KEYS: queue, admitted, meter, contacts, notices. ARGV: now, rate per ms, burst, cap
-- (-1: none), window ms, batch max. The twin of domain/waiting-room.ts refillMeter +
-- admissionsDue. Each admitted user who left an address (contacts) gets a notice
-- ("user\nemail\nexpires" on the notices list). Returns the number admitted.
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cap, window, batchMax = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local at = tonumber(redis.call('HGET', KEYS[3], 'at'))
local places = tonumber(redis.call('HGET', KEYS[3], 'places'))
if not at or not places then
  at, places = now, burst
elseif now > at then
  places, at = math.min(burst, places + (now - at) * rate), now
end
local due = math.min(math.floor(places), batchMax)
if cap >= 0 then
  due = math.min(due, math.max(0, cap - redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')))
end
local admitted = 0
if due > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], due)
  local args = {}
  for i = 1, #popped, 2 do
    args[#args + 1] = now + window
    args[#args + 1] = popped[i]
    local email = redis.call('HGET', KEYS[4], popped[i])
    if email then
      redis.call('RPUSH', KEYS[5], popped[i] .. '\n' .. email .. '\n' .. string.format('%d', now + window))
      redis.call('HDEL', KEYS[4], popped[i])
    end
  end
  if #args > 0 then redis.call('ZADD', KEYS[2], unpack(args)) end
  admitted = #popped / 2
  places = places - admitted
end
redis.call('HSET', KEYS[3], 'at', string.format('%d', at), 'places', string.format('%.17g', places))
return admitted
