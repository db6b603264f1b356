// Token buckets in process memory (the embedded default, and the fallback is nothing: one
// process has all the traffic). At most maxBuckets are kept; the oldest go first.
import type { BucketRequest, RateLimiter } from '../../app/ports/rate-limiter.ts';
import { takeToken, type Bucket } from '../../domain/token-bucket.ts';

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly maxBuckets = 100_000) {}

  async take(buckets: BucketRequest[], nowMs: number): Promise<number[]> {
    return buckets.map(({ key, ratePerSecond, burst }) => {
      const taken = takeToken(this.buckets.get(key), nowMs, ratePerSecond, burst);
      this.buckets.delete(key); // re-inserted last: the map's order is least recently used first
      if (this.buckets.size >= this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(key, taken.bucket);
      return taken.waitMs;
    });
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}
