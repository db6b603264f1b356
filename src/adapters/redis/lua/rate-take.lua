-- KEYS: buckets. ARGV: now, then rate per second, burst and lifetime ms per bucket.
-- Returns per bucket 0 (a token was taken) or the wait in ms.
local now, waits = tonumber(ARGV[1]), {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[i * 3 - 1]), tonumber(ARGV[i * 3])
  local tokens = tonumber(redis.call('HGET', key, 't'))
  local at = tonumber(redis.call('HGET', key, 'at'))
  if not tokens or not at then
    tokens, at = burst, now
  elseif now > at then
    tokens, at = math.min(burst, tokens + (now - at) * rate / 1000), now
  end
  local wait = 0
  -- the slack of domain/token-bucket.ts: a float refill may fall just short of a whole token
  if tokens >= 1 - 1e-9 then tokens = math.max(0, tokens - 1) else wait = math.ceil((1 - tokens) * 1000 / rate) end
  redis.call('HSET', key, 't', string.format('%.17g', tokens), 'at', string.format('%d', at))
  redis.call('PEXPIRE', key, ARGV[i * 3 + 1])
  waits[i] = wait
end
return waits
