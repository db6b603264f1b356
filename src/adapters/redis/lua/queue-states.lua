-- KEYS: queue, admitted. ARGV: now, user... Returns 'a:<expires>', 'e:<expired>', 'w:<rank>' or '-' per user.
local now, out = tonumber(ARGV[1]), {}
for i = 2, #ARGV do
  local expires = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if expires then
    out[#out + 1] = (tonumber(expires) > now and 'a:' or 'e:') .. expires
  else
    local rank = redis.call('ZRANK', KEYS[1], ARGV[i])
    out[#out + 1] = rank and ('w:' .. rank) or '-'
  end
end
return out
