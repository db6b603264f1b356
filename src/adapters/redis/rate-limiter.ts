// Token buckets in Redis, shared by every process: one hash per key, expiring once full
// again. The script is the twin of domain/token-bucket.ts. A Redis failure lets the
// request through (rate limits protect the service; they must not take it down with Redis).
import type { Redis, Cluster } from 'ioredis';
import type { RateLimiter } from '../../app/ports.ts';
import { bucketLifetimeMs } from '../../domain/token-bucket.ts';

// KEYS: bucket. ARGV: now, rate per second, burst, lifetime ms. Returns 0 or the wait in ms.
const takeLua = `
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(redis.call('HGET', KEYS[1], 't'))
local at = tonumber(redis.call('HGET', KEYS[1], 'at'))
if not tokens or not at then
  tokens, at = burst, now
elseif now > at then
  tokens, at = math.min(burst, tokens + (now - at) * rate / 1000), now
end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%d', at))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return wait`;

interface Scripts {
  bxRateTake(bucket: string, ...args: string[]): Promise<number>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly scripts: Scripts;

  constructor(
    client: Redis | Cluster,
    private readonly keyPrefix: string,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    client.defineCommand('bxRateTake', { numberOfKeys: 1, lua: takeLua });
    this.scripts = client as unknown as Scripts;
  }

  async take(key: string, ratePerSecond: number, burst: number, nowMs: number): Promise<number> {
    try {
      return await this.scripts.bxRateTake(
        `${this.keyPrefix}rate:{${key}}`,
        String(nowMs),
        String(ratePerSecond),
        String(burst),
        String(bucketLifetimeMs(ratePerSecond, burst)),
      );
    } catch (error) {
      this.onError(error, 'redis rate limiter');
      return 0;
    }
  }

  async close(): Promise<void> {}
}
