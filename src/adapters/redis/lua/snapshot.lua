-- KEYS: meta, map, holds. ARGV: now. Returns {version, warm, map, lapsed seats} read
-- together; lapsed seats are holds that ended by now, shown available.
return {redis.call('HGET', KEYS[1], 'version') or '0', redis.call('HEXISTS', KEYS[1], 'warm'),
        redis.call('GET', KEYS[2]) or '', redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])}
