// Token buckets in Redis, shared by every process: one hash per key, expiring once full
// again. The script is the twin of domain/token-bucket.ts. All of a request's buckets go in
// one script call (one round trip; on a cluster, where they live in different slots, one
// call each). A Redis failure lets the request through (rate limits protect the service;
// they must not take it down with Redis).
import type { RedisClient } from './client.ts';
import { loadLua } from './lua.ts';
import type { BucketRequest, RateLimiter } from '../../app/ports/rate-limiter.ts';
import { bucketLifetimeMs } from '../../domain/token-bucket.ts';

// The script in lua/, its KEYS and ARGV described at its top.
const takeLua = loadLua('rate-take');

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
