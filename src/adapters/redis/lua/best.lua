-- Best available, chosen and taken in one step: the twin of domain/best-available.ts
-- chooseSeats (same rows, same order, same ties), over the gate's entries
-- ("state|version|expiresAtMs|holder", see app/seat-board-rules.ts): a seat is free unless
-- booked, blocked, or held or provisionally taken until after now. The chosen seats are
-- taken provisionally, as gate.lua takes named seats.
-- KEYS: seats, meta. ARGV: now, pendingUntil, holder, count, together (1|0), apartRows (seats
-- apart come from the first apartRows rows only), rowCount, then per row: firstSeatNo,
-- seatCount, runCount, then (runFirstSeatNo, runLength) per run.
-- Returns {warm, chosen seat numbers (empty: none)}; nothing is taken unless warm.
local now = tonumber(ARGV[1])
local count = tonumber(ARGV[4])
local together = ARGV[5] == '1'
if redis.call('HEXISTS', KEYS[2], 'warm') ~= 1 then return {0, {}} end

local apartRows = tonumber(ARGV[6])
local rows, at = {}, 8
for r = 1, tonumber(ARGV[7]) do
  local row = { first = tonumber(ARGV[at]), size = tonumber(ARGV[at + 1]), runs = {} }
  local runCount = tonumber(ARGV[at + 2])
  at = at + 3
  for k = 1, runCount do
    row.runs[k] = { tonumber(ARGV[at]), tonumber(ARGV[at + 1]) }
    at = at + 2
  end
  rows[r] = row
end

-- The entries of a row's seats, read once (in chunks: unpack has a limit).
local free, versions = {}, {}
local function load(row)
  local seats = {}
  for _, run in ipairs(row.runs) do
    for seat = run[1], run[1] + run[2] - 1 do seats[#seats + 1] = seat end
  end
  for from = 1, #seats, 1000 do
    local chunk = { unpack(seats, from, math.min(from + 999, #seats)) }
    local entries = redis.call('HMGET', KEYS[1], unpack(chunk))
    for k, seat in ipairs(chunk) do
      local entry, isFree, version = entries[k], true, '0'
      if entry then
        local st, ver, exp = string.match(entry, '^(%u)|(%d+)|(%d*)|')
        version = ver
        if st == 'B' or st == 'K' or ((st == 'H' or st == 'P') and tonumber(exp) > now) then isFree = false end
      end
      free[seat], versions[seat] = isFree, version
    end
  end
end

local function distance(row, start, n)
  return math.abs(2 * (start - row.first) + n - row.size)
end

local function bestStretch(row)
  local best, bestStranded, bestDistance = nil, 0, 0
  for _, run in ipairs(row.runs) do
    local runEnd = run[1] + run[2]
    local seat = run[1]
    while seat < runEnd do
      if not free[seat] then
        seat = seat + 1
      else
        local freeEnd = seat
        while freeEnd < runEnd and free[freeEnd] do freeEnd = freeEnd + 1 end
        for start = seat, freeEnd - count do
          local stranded = 0
          if start - seat == 1 then stranded = stranded + 1 end
          if freeEnd - (start + count) == 1 then stranded = stranded + 1 end
          if freeEnd - seat == 1 then stranded = stranded - 1 end
          local d = distance(row, start, count)
          if best == nil or stranded < bestStranded or (stranded == bestStranded and d < bestDistance) then
            best, bestStranded, bestDistance = start, stranded, d
          end
        end
        seat = freeEnd
      end
    end
  end
  return best
end

local chosen = {}
for _, row in ipairs(rows) do
  load(row)
  local start = bestStretch(row)
  if start ~= nil then
    for offset = 0, count - 1 do chosen[#chosen + 1] = start + offset end
    break
  end
end
if #chosen == 0 and not together then
  for r = 1, apartRows do
    local row = rows[r]
    local seats = {}
    for _, run in ipairs(row.runs) do
      for seat = run[1], run[1] + run[2] - 1 do
        if free[seat] then seats[#seats + 1] = seat end
      end
    end
    table.sort(seats, function(a, b)
      local da, db = distance(row, a, 1), distance(row, b, 1)
      if da ~= db then return da < db end
      return a < b
    end)
    for _, seat in ipairs(seats) do
      if #chosen < count then chosen[#chosen + 1] = seat end
    end
    if #chosen == count then break end
  end
  if #chosen < count then chosen = {} end
  table.sort(chosen)
end
for _, seat in ipairs(chosen) do
  redis.call('HSET', KEYS[1], seat, 'P|' .. versions[seat] .. '|' .. ARGV[2] .. '|' .. ARGV[3])
end
return {1, chosen}
