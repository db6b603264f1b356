-- KEYS: seats. ARGV: holder, seatNo... Gives back the holder's provisional entries.
for i = 2, #ARGV do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  if entry then
    local st, ver, holder = string.match(entry, '^(%u)|(%d+)|%d*|(.*)$')
    if st == 'P' and holder == ARGV[1] then redis.call('HSET', KEYS[1], ARGV[i], 'F|' .. ver .. '||') end
  end
end
return 0
