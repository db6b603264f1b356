-- Gate entries are "state|version|expiresAtMs|holder" (see app/seat-board-rules.ts).
-- KEYS: seats, meta. ARGV: now, pendingUntil, holder, seatNo... Returns {warm, conflicts}.
local now = tonumber(ARGV[1])
local conflicts, versions = {}, {}
for i = 4, #ARGV do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  versions[i] = '0'
  if entry then
    local st, ver, exp = string.match(entry, '^(%u)|(%d+)|(%d*)|')
    versions[i] = ver
    if st == 'B' or st == 'K' or ((st == 'H' or st == 'P') and tonumber(exp) > now) then
      conflicts[#conflicts + 1] = ARGV[i]
    end
  end
end
local warm = redis.call('HEXISTS', KEYS[2], 'warm')
if #conflicts == 0 then
  for i = 4, #ARGV do
    redis.call('HSET', KEYS[1], ARGV[i], 'P|' .. versions[i] .. '|' .. ARGV[2] .. '|' .. ARGV[3])
  end
end
return {warm, conflicts}
