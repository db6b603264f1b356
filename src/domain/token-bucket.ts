// A token bucket: refills at ratePerSecond up to burst; each request takes one token.
// Pure: time is passed in. The Redis rate limiter's Lua script is its twin.

export interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

export interface Take {
  bucket: Bucket;
  /** 0 when a token was taken, else the milliseconds until one is there. */
  waitMs: number;
}

/**
 * Refills add rate·elapsed/1000 in floating point, so a bucket that has waited exactly the
 * promised waitMs may hold 0.9999999999 of a token. Within this slack it counts as whole.
 */
const WHOLE_TOKEN_SLACK = 1e-9;

export function takeToken(bucket: Bucket | undefined, nowMs: number, ratePerSecond: number, burst: number): Take {
  const elapsedMs = bucket ? Math.max(0, nowMs - bucket.refilledAtMs) : 0;
  const tokens = bucket ? Math.min(burst, bucket.tokens + (elapsedMs * ratePerSecond) / 1000) : burst;
  const refilledAtMs = bucket ? Math.max(nowMs, bucket.refilledAtMs) : nowMs;
  if (tokens >= 1 - WHOLE_TOKEN_SLACK) {
    return { bucket: { tokens: Math.max(0, tokens - 1), refilledAtMs }, waitMs: 0 };
  }
  return { bucket: { tokens, refilledAtMs }, waitMs: Math.ceil(((1 - tokens) * 1000) / ratePerSecond) };
}

/** How long an untouched bucket matters: after this it is full again and may be forgotten. */
export function bucketLifetimeMs(ratePerSecond: number, burst: number): number {
  return Math.ceil((burst * 1000) / ratePerSecond) + 1000;
}
