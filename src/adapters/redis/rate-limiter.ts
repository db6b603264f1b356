// Token buckets in Redis, shared by every process: one hash per key, expiring once full
// again. The script is the twin of domain/token-bucket.ts. All of a request's buckets go in
// one script call (one round trip; on a cluster, where they live in different slots, one
// call each). A Redis failure lets the request through (rate limits protect the service;
// they must not take it down with Redis).
import type { RedisClient } from './client.ts';
import type { BucketRequest, RateLimiter } from '../../app/ports.ts';
import { bucketLifetimeMs } from '../../domain/token-bucket.ts';

// KEYS: buckets. ARGV: now, then rate per second, burst and lifetime ms per bucket.
// Returns per bucket 0 (a token was taken) or the wait in ms.
const takeLua = `
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
return waits`;

interface Scripts {
  bxRateTake(keyCount: number, ...keysAndArgs: string[]): Promise<number[]>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly scripts: Scripts;
  private readonly cluster: boolean;

  constructor(
    client: RedisClient,
    private readonly keyPrefix: string,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    // The number of keys varies: given with each call.
    client.defineCommand('bxRateTake', { lua: takeLua });
    this.scripts = client as unknown as Scripts;
    this.cluster = client.isCluster;
  }

  async take(buckets: BucketRequest[], nowMs: number): Promise<number[]> {
    if (buckets.length === 0) return [];
    try {
      if (!this.cluster) return await this.call(buckets, nowMs);
      return (await Promise.all(buckets.map((bucket) => this.call([bucket], nowMs)))).flat();
    } catch (error) {
      this.onError(error, 'redis rate limiter');
      return buckets.map(() => 0);
    }
  }

  private call(buckets: BucketRequest[], nowMs: number): Promise<number[]> {
    return this.scripts.bxRateTake(
      buckets.length,
      ...buckets.map((bucket) => `${this.keyPrefix}rate:{${bucket.key}}`),
      String(nowMs),
      ...buckets.flatMap((bucket) => [
        String(bucket.ratePerSecond),
        String(bucket.burst),
        String(bucketLifetimeMs(bucket.ratePerSecond, bucket.burst)),
      ]),
    );
  }

  async close(): Promise<void> {}
}
