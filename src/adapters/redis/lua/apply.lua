-- KEYS: seats, map, meta, log, holds (a sorted set of held seats by expiry). ARGV: quiet,
-- logMax, channel, eventId, epochVersion, now, then (seatNo, state, version, expiresAtMs,
-- holder) per seat. Newest version per seat wins. A change that moves the stored bits or
-- what readers see (they see a hold past its expiry as available, swept or not) takes the
-- next event version, goes to the log and is published, unless quiet (a rebuild, which
-- ends with a reset instead).
local changed = {}
local now = tonumber(ARGV[6])
for i = 7, #ARGV, 5 do
  local seat, st = ARGV[i], ARGV[i + 1]
  local entry = redis.call('HGET', KEYS[1], seat)
  local current, was, wasExp, wasRest = 0, nil, nil, nil
  if entry then
    was, current, wasExp, wasRest = string.match(entry, '^(%u)|(%d+)|(%d*)|(.*)$')
    current = tonumber(current)
  end
  if tonumber(ARGV[i + 2]) > current then
    if st == 'F' and was == 'P' and tonumber(wasExp) > now then
      -- A live gate pass keeps the seat a report of it being free would undo (see
      -- appliedEntry in app/seat-board-rules.ts), at the report's version.
      redis.call('HSET', KEYS[1], seat, 'P|' .. ARGV[i + 2] .. '|' .. wasExp .. '|' .. wasRest)
    else
      redis.call('HSET', KEYS[1], seat, st .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3] .. '|' .. ARGV[i + 4])
    end
    local stored = redis.call('BITFIELD', KEYS[2], 'GET', 'u2', '#' .. seat)[1]
    local seen = stored
    local holdEnds = redis.call('ZSCORE', KEYS[5], seat)
    if holdEnds and tonumber(holdEnds) <= now then seen = 0 end
    if st == 'H' then redis.call('ZADD', KEYS[5], ARGV[i + 3], seat) else redis.call('ZREM', KEYS[5], seat) end
    local code = 0
    if st == 'H' then code = 1 elseif st == 'B' then code = 2 elseif st == 'K' then code = 3 end
    if stored ~= code then redis.call('BITFIELD', KEYS[2], 'SET', 'u2', '#' .. seat, code) end
    if stored ~= code or seen ~= code then changed[#changed + 1] = seat .. ':' .. code end
  end
end
if #changed == 0 or ARGV[1] == '1' then return 0 end
local version
if redis.call('HEXISTS', KEYS[3], 'version') == 1 then
  version = redis.call('HINCRBY', KEYS[3], 'version', 1)
else
  version = tonumber(ARGV[5])
  redis.call('HSET', KEYS[3], 'version', ARGV[5])
end
local id = string.format('%d', version)
local body = table.concat(changed, ',')
redis.pcall('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], id .. '-0', 'c', body)
redis.call('PUBLISH', ARGV[3], ARGV[4] .. '|' .. id .. '|' .. body)
return version
