// Rate limits: token buckets by key.

export interface BucketRequest {
  key: string;
  ratePerSecond: number;
  burst: number;
}

/** Token buckets by key (a user, an address): shared across processes on Redis. */
export interface RateLimiter {
  /**
   * Takes one token from each bucket (one round trip for all of them where the store allows);
   * answers per bucket 0 if one was there, else the milliseconds until one is.
   */
  take(buckets: BucketRequest[], nowMs: number): Promise<number[]>;
  close(): Promise<void>;
}
