// The waiting room's fairness and rate, in process (no database): the pre-queue shuffle is
// uniform, arrivals after the opening are first come first served, the admitter keeps to its
// rate in every window and under the shopper cap, and the token bucket keeps to its rate.
// The same room checks run against Redis in test/integration/waiting-room-store.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MemoryWaitingRoom } from '../../src/adapters/memory/waiting-room.ts';
import { admissionLimits } from '../../src/app/waiting-room.ts';
import { takeToken, type Bucket } from '../../src/domain/token-bucket.ts';
import { admissionsDue, burstOf, refillMeter, type WaitingRoomSettings } from '../../src/domain/waiting-room.ts';
import { seedFromEnv } from '../support/random.ts';
import {
  assertUniformShuffle,
  checkAdmissionRates,
  checkCapAtRandom,
  checkCapSlots,
  checkFirstComeAfterOpening,
  chiSquarePValue,
  openMs,
  seededWords,
  shuffleStats,
  tallyPreQueueShuffles,
} from '../support/waiting-room-checks.ts';

/** Fixed: a statistical test at p = 0.001 must not fail one run in a thousand. */
const fairnessSeed = 20270110;

describe('pre-queue fairness', () => {
  test('when p-values are computed, then they match the chi-square tables', () => {
    const table: [number, number, number][] = [
      // statistic, df, upper tail (scipy.stats.chi2.isf)
      [3.8414588206941285, 1, 0.05],
      [10.827566170662733, 1, 0.001],
      [16.91897760462045, 9, 0.05],
      [39.25235479076848, 16, 0.001],
      [49.72823246643151, 23, 0.001],
      [145.46074022476486, 119, 0.05],
      [172.41768160217916, 119, 0.001],
    ];
    for (const [statistic, df, p] of table) {
      const computed = chiSquarePValue(statistic, df);
      assert.ok(Math.abs(computed - p) < p * 1e-6, `χ²=${statistic}, df ${df}: p=${computed}, not ${p}`);
    }
    assert.equal(chiSquarePValue(0, 5), 1);
  });

  test('when 5 users join before the opening 6,000 times in the same order, then every admission order is equally likely', async () => {
    console.log(`pre-queue fairness seed: ${fairnessSeed}`);
    const room = new MemoryWaitingRoom();
    const tally = await tallyPreQueueShuffles(room, {
      runs: 6_000,
      users: 5,
      words: seededWords(fairnessSeed),
      eventPrefix: 'fair-',
    });
    assert.equal(
      [...tally.orders.values()].reduce((sum, count) => sum + count, 0),
      6_000,
    );
    assert.equal(tally.orders.size, 120, 'every one of the 5! orders comes out');
    const stats = assertUniformShuffle(tally, 'in-process pre-queue');
    assert.ok(Math.abs(stats.meanPlaces[0]! - 2) < 0.1, 'the first to arrive is admitted in the middle on average');
  });

  test('when the keys carry too few random bits, then the same statistics reject the shuffle (they can fail)', async () => {
    // Keys with 2 random bits tie often, and ties go by user id: by arrival. Not drawQueueKey's 52 bits.
    const words = seededWords(fairnessSeed);
    const room = new MemoryWaitingRoom();
    const tally = await tallyPreQueueShuffles(room, {
      runs: 6_000,
      users: 5,
      words: () => words() & 0x8000_0000,
      eventPrefix: 'biased-',
    });
    const stats = shuffleStats(tally);
    console.log(
      `biased control: orders χ²=${stats.orders.statistic.toFixed(1)} p=${stats.orders.p.toExponential(2)}, ` +
        `place×arrival χ²=${stats.placeByArrival.statistic.toFixed(1)} p=${stats.placeByArrival.p.toExponential(2)}, ` +
        `first arriver mean place ${stats.meanPlaces[0]!.toFixed(3)}`,
    );
    assert.ok(stats.orders.p < 1e-6);
    assert.ok(stats.placeByArrival.p < 1e-6);
    assert.ok(stats.meanPlaces[0]! < 1.9, 'the early arriver gains');
  });
});

describe('first come, first served after the opening', () => {
  test('when users join after the opening, then they are admitted strictly in arrival order, after the whole pre-queue', async () => {
    const seed = seedFromEnv();
    console.log(`first-come seed: ${seed} (replay with TEST_SEED=${seed})`);
    const room = new MemoryWaitingRoom();
    for (let run = 0; run < 20; run += 1) await checkFirstComeAfterOpening(room, `fcfs-${run}`, seed + run);
  });
});

describe('admission rate with an injected clock', () => {
  const seed = seedFromEnv();
  // Three callers of one room: in one process they share the room object.
  const shared = new MemoryWaitingRoom();
  const callers = [shared, shared, shared];

  test('when ticks come at irregular instants from several callers, then every window admits at most burst + rate·T', async () => {
    console.log(`admission rate seed: ${seed} (replay with TEST_SEED=${seed})`);
    const options = { seed, scenarios: 40, regular: false, concurrent: false, maxAdmissions: 20_000 };
    await checkAdmissionRates(callers, { ...options, eventPrefix: 'rate-', label: 'in-process' });
    await checkAdmissionRates(callers, {
      ...options,
      seed: seed + 1,
      concurrent: true,
      eventPrefix: 'rate-all-',
      label: 'in-process, all at once',
    });
  });

  test('when ticks come at most a tick apart and the line never runs dry, then the rate is delivered too', async () => {
    console.log(`admission liveness seed: ${seed} (replay with TEST_SEED=${seed})`);
    const options = { seed, scenarios: 40, regular: true, concurrent: false, maxAdmissions: 20_000 };
    await checkAdmissionRates(callers, { ...options, eventPrefix: 'live-', label: 'in-process' });
  });

  test('when the admitter ticks exactly every tickMs, then the set rate is delivered (600/min at the defaults, not 480)', async () => {
    // ADMIT_TICK_MS 250, admit_per_minute 600: 2.5 places a tick.
    for (const [admitPerMinute, tickMs] of [
      [600, 250],
      [1_000, 250],
      [100, 1_000],
      [180, 250],
      [60, 1_000],
    ] as const) {
      const room = new MemoryWaitingRoom();
      const settings: WaitingRoomSettings = {
        enabled: true,
        admitPerMinute,
        maxActiveShoppers: null,
        admissionWindowMs: 900_000,
        paused: false,
        challenge: false,
      };
      for (let user = 0; user < admitPerMinute * 11; user += 1) await room.join('steady', `s-${user}`, null, openMs);
      let admitted = 0;
      for (let atMs = openMs; atMs <= openMs + 600_000; atMs += tickMs) {
        admitted += await room.admit('steady', admissionLimits(settings, atMs, { tickMs, batchMax: 1_000 }));
      }
      const burst = burstOf(admitPerMinute, tickMs);
      assert.ok(
        admitted >= admitPerMinute * 10 - 1 && admitted <= admitPerMinute * 10 + burst,
        `${admitPerMinute}/min ticked every ${tickMs} ms: ${admitted} in 10 minutes, not ${admitPerMinute * 10}`,
      );
    }
  });

  test('when a clock steps back, then the meter adds nothing for it', async () => {
    const settings: WaitingRoomSettings = {
      enabled: true,
      admitPerMinute: 600,
      maxActiveShoppers: null,
      admissionWindowMs: 900_000,
      paused: false,
      challenge: false,
    };
    const limits = (atMs: number) => admissionLimits(settings, atMs, { tickMs: 250, batchMax: 1_000 });
    const skewed = new MemoryWaitingRoom();
    const steady = new MemoryWaitingRoom();
    for (let user = 0; user < 100; user += 1) {
      await skewed.join('back', `b-${user}`, null, openMs);
      await steady.join('back', `b-${user}`, null, openMs);
    }
    let skewedTotal = 0;
    let steadyTotal = 0;
    for (const [offsetMs, stepsBack] of [
      [0, false],
      [-5_000, true],
      [-1, true],
      [0, true],
      [700, false],
      [300, true],
      [699, true],
      [1_400, false],
      [-60_000, true],
      [2_000, false],
    ] as const) {
      const admitted = await skewed.admit('back', limits(openMs + offsetMs));
      skewedTotal += admitted;
      if (stepsBack) assert.equal(admitted, 0, `a tick at ${offsetMs} ms, behind the meter, admits nobody`);
      else steadyTotal += await steady.admit('back', limits(openMs + offsetMs));
      assert.equal(skewedTotal, steadyTotal, `after the tick at ${offsetMs} ms`);
    }
  });
});

describe('the shopper cap', () => {
  test('when the cap is full, then nobody goes in until a shopper finishes or an admission ends', async () => {
    await checkCapSlots(new MemoryWaitingRoom(), 'cap');
  });

  test('when shoppers come and go at random, then the admitted never exceed the cap', async () => {
    const seed = seedFromEnv();
    console.log(`shopper cap seed: ${seed} (replay with TEST_SEED=${seed})`);
    const room = new MemoryWaitingRoom();
    for (let run = 0; run < 20; run += 1) await checkCapAtRandom([room, room, room], `cap-${run}`, seed + run);
  });
});

describe('the admission meter', () => {
  const ratePerMs = 600 / 60_000;

  test('when the meter is first ticked, then it holds one burst', () => {
    assert.deepEqual(refillMeter({ refilledAtMs: null, places: 0 }, openMs, ratePerMs, 2.5), {
      refilledAtMs: openMs,
      places: 2.5,
    });
  });

  test('when time passes, then it refills at the rate up to the burst', () => {
    const meter = { refilledAtMs: openMs, places: 0.5 };
    assert.deepEqual(refillMeter(meter, openMs + 100, ratePerMs, 2.5), { refilledAtMs: openMs + 100, places: 1.5 });
    assert.deepEqual(refillMeter(meter, openMs + 3_600_000, ratePerMs, 2.5), {
      refilledAtMs: openMs + 3_600_000,
      places: 2.5,
    });
  });

  test('when the clock steps back, then nothing is added and the meter keeps its time', () => {
    const meter = { refilledAtMs: openMs, places: 0.5 };
    assert.equal(refillMeter(meter, openMs - 10_000, ratePerMs, 2.5), meter);
    assert.equal(refillMeter(meter, openMs, ratePerMs, 2.5), meter);
    const back = refillMeter(meter, openMs - 1, ratePerMs, 2.5);
    assert.deepEqual(refillMeter(back, openMs + 50, ratePerMs, 2.5), { refilledAtMs: openMs + 50, places: 1 });
  });

  test('when places, cap, line and batch limit disagree, then the smallest wins and it is never negative', () => {
    assert.equal(admissionsDue(2.99, 0, null, 10, 100), 2);
    assert.equal(admissionsDue(5, 3, 4, 10, 100), 1);
    assert.equal(admissionsDue(5, 6, 4, 10, 100), 0);
    assert.equal(admissionsDue(5, 0, null, 3, 100), 3);
    assert.equal(admissionsDue(5, 0, null, 10, 2), 2);
    assert.equal(admissionsDue(0.5, 0, null, 10, 100), 0);
  });

  test('when the rate is tiny, then the burst is still one person; else at least one tick of the rate', () => {
    assert.ok(burstOf(1, 250) >= 1);
    assert.ok(burstOf(1, 250) < 2, 'not two people at once at one a minute');
    assert.ok(burstOf(600, 250) >= 2.5);
    assert.ok(burstOf(60_000, 1_000) >= 1_000);
  });
});

describe('the token bucket', () => {
  const bucketArb = fc.record({
    ratePerSecond: fc.integer({ min: 1, max: 1_000 }),
    burst: fc.integer({ min: 1, max: 50 }),
    startMs: fc.integer({ min: 0, max: 2 ** 40 }),
    gaps: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5_000 })), {
      maxLength: 300,
    }),
  });

  test('when tokens are taken at random instants, then every window takes at most burst + rate·T and waitMs is never early, at most 1 ms late', () => {
    const seed = seedFromEnv();
    console.log(`token bucket seed: ${seed} (replay with TEST_SEED=${seed})`);
    fc.assert(
      fc.property(bucketArb, ({ ratePerSecond, burst, startMs, gaps }) => {
        let bucket: Bucket | undefined;
        let nowMs = startMs;
        const taken: number[] = [];
        for (const gap of gaps) {
          nowMs += gap;
          const take = takeToken(bucket, nowMs, ratePerSecond, burst);
          assert.ok(take.bucket.tokens >= 0 && take.bucket.tokens <= burst, `tokens ${take.bucket.tokens}`);
          assert.equal(take.bucket.refilledAtMs, nowMs);
          if (take.waitMs === 0) {
            taken.push(nowMs);
          } else {
            assert.ok(Number.isInteger(take.waitMs) && take.waitMs > 0);
            assert.equal(takeToken(take.bucket, nowMs + take.waitMs, ratePerSecond, burst).waitMs, 0, 'after waitMs');
            // Not much before either: at most 1 ms late (the float division can land just above a whole ms).
            if (take.waitMs >= 2) {
              assert.ok(takeToken(take.bucket, nowMs + take.waitMs - 2, ratePerSecond, burst).waitMs > 0, 'too late');
            }
          }
          bucket = take.bucket;
        }
        for (let first = 0; first < taken.length; first += 1) {
          for (let last = first; last < taken.length; last += 1) {
            const bound = burst + (ratePerSecond * (taken[last]! - taken[first]!)) / 1000;
            assert.ok(last - first + 1 <= bound + 1e-9, `${last - first + 1} taken in a window allowing ${bound}`);
          }
        }
      }),
      { seed, numRuns: 300 },
    );
  });

  test('when a bucket is empty, then it refills at the rate and never beyond the burst', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 100_000 }),
        (ratePerSecond, burst, elapsedMs) => {
          let bucket: Bucket = { tokens: 0, refilledAtMs: openMs };
          let count = 0;
          for (;;) {
            const take = takeToken(bucket, openMs + elapsedMs, ratePerSecond, burst);
            if (take.waitMs > 0) break;
            bucket = take.bucket;
            count += 1;
          }
          assert.equal(count, Math.min(burst, Math.floor((ratePerSecond * elapsedMs) / 1000)));
        },
      ),
      { seed: seedFromEnv(), numRuns: 300 },
    );
  });

  test('when the first request comes, then the bucket is full; when the clock steps back, then nothing is added', () => {
    const first = takeToken(undefined, openMs, 5, 10);
    assert.deepEqual(first, { bucket: { tokens: 9, refilledAtMs: openMs }, waitMs: 0 });
    const empty: Bucket = { tokens: 0.5, refilledAtMs: openMs };
    const back = takeToken(empty, openMs - 60_000, 5, 10);
    assert.deepEqual(back, { bucket: { tokens: 0.5, refilledAtMs: openMs }, waitMs: 100 });
    assert.ok(takeToken(empty, openMs + 99, 5, 10).waitMs > 0, 'not a moment early');
    assert.deepEqual(takeToken(empty, openMs + 100, 5, 10), {
      bucket: { tokens: 0, refilledAtMs: openMs + 100 },
      waitMs: 0,
    });
  });
});
