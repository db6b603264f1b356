-- KEYS: meta, log. ARGV: version, maxBatches. The batches after version, or nil when the
-- log does not reach back that far (or the caller is ahead of it).
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local from = tonumber(ARGV[1])
if from == current then return {} end
if from > current or current - from > tonumber(ARGV[2]) then return false end
local entries = redis.call('XRANGE', KEYS[2], string.format('%d', from + 1) .. '-0', '+')
if #entries ~= current - from then return false end
return entries
