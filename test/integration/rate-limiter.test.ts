// The rate limiter each pass runs (the Redis Lua script on the PostgreSQL pass, the in-process
// buckets on the PGlite pass) answers exactly as the pure token bucket of domain/token-bucket.ts,
// including the float edge where a refill lands a hair short of a whole token.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { MemoryRateLimiter } from '../../src/adapters/memory/rate-limiter.ts';
import { RedisRateLimiter } from '../../src/adapters/redis/rate-limiter.ts';
import type { RateLimiter } from '../../src/app/ports/rate-limiter.ts';
import { takeToken, type Bucket } from '../../src/domain/token-bucket.ts';
import { deleteRedisKeys, redisUrl, testDb } from '../support/harness.ts';
import { seedFromEnv } from '../support/random.ts';

const onRedis = testDb === 'postgres';
const kind = onRedis ? 'Redis' : 'in-process';

describe(`rate limiter (${kind})`, () => {
  const prefix = `bxt:rl-${randomBytes(6).toString('hex')}:`;
  let client: Redis | undefined;
  let limiter: RateLimiter;
  const errors: unknown[] = [];
  let run = 0;

  before(async () => {
    if (!onRedis) {
      limiter = new MemoryRateLimiter();
      return;
    }
    client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    limiter = new RedisRateLimiter(client, prefix, (error) => errors.push(error));
  });

  after(async () => {
    await limiter.close();
    if (!client) return;
    await deleteRedisKeys(redisUrl, prefix);
    await client.quit();
  });

  /** Takes at each instant from a fresh bucket; returns each take's wait next to the pure bucket's. */
  async function replay(ratePerSecond: number, burst: number, instants: number[]) {
    run += 1;
    const key = `user:${run}`;
    let bucket: Bucket | undefined;
    const expected: number[] = [];
    const actual: number[] = [];
    for (const nowMs of instants) {
      const take = takeToken(bucket, nowMs, ratePerSecond, burst);
      bucket = take.bucket;
      expected.push(take.waitMs);
      actual.push(...(await limiter.take([{ key, ratePerSecond, burst }], nowMs)));
    }
    return { expected, actual };
  }

  test('when a bucket waits exactly the promised wait after a float refill, then the token is there', async () => {
    // Found by the token bucket property (seed 268): 0.061 + 0.939 of a token summed to 0.99999….
    const instants = [0, 32, 32, 39, 61];
    const { expected, actual } = await replay(1, 4, instants);
    assert.deepEqual(actual, expected);
    const wait = actual.at(-1)!;
    assert.equal(wait, 939);
    const [afterWait] = await limiter.take([{ key: `user:${run}`, ratePerSecond: 1, burst: 4 }], 61 + wait);
    assert.equal(afterWait, 0, 'the token promised after waitMs is granted');
    assert.deepEqual(errors, []);
  });

  test('when tokens are taken at random instants (clock steps back included), then every answer is the pure bucket’s', async () => {
    const seed = seedFromEnv();
    console.log(`${kind} rate limiter seed: ${seed} (replay with TEST_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: -20, max: 50 }), fc.integer({ min: 0, max: 5_000 })), {
          maxLength: 120,
        }),
        async (ratePerSecond, burst, startMs, steps) => {
          let nowMs = startMs;
          const instants = steps.map((step) => (nowMs += step));
          const { expected, actual } = await replay(ratePerSecond, burst, instants);
          assert.deepEqual(actual, expected);
        },
      ),
      { seed, numRuns: 60 },
    );
    assert.deepEqual(errors, []);
  });
});
