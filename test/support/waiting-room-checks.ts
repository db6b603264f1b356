// Fairness and rate checks of a waiting room (the WaitingRoom port), shared by the unit tests
// (in-process room) and the store tests (in-process on the PGlite pass, Redis on the PostgreSQL
// pass). Time is injected: every call gets its nowMs from the check, never from a clock.
import assert from 'node:assert/strict';
import type { AdmissionLimits, QueueState, WaitingRoom } from '../../src/app/ports/waiting-room.ts';
import { admissionLimits } from '../../src/app/waiting-room.ts';
import { burstOf, drawQueueKey, queueKeyFor, type WaitingRoomSettings } from '../../src/domain/waiting-room.ts';
import { seededRandom } from './random.ts';

export const openMs = Date.parse('2027-01-10T15:00:00Z');
const windowMs = 60_000;
/** Float slack for the rate bounds (the meter adds up fractions of places). */
const epsilon = 1e-9;

type Random = ReturnType<typeof seededRandom>;

/** 32-bit words from a seeded PRNG: what deps.randomWord gives, but replayable. */
export function seededWords(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.floor(random.next() * 2 ** 32);
}

// --- chi-square -------------------------------------------------------------------------

const lanczos = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  const t = z + 7.5;
  let sum = lanczos[0]!;
  for (let i = 1; i < lanczos.length; i += 1) sum += lanczos[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** P(X ≥ statistic) for X ~ χ²(df): the regularized upper incomplete gamma Q(df/2, statistic/2). */
export function chiSquarePValue(statistic: number, df: number): number {
  const a = df / 2;
  const x = statistic / 2;
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    // The series for the lower part P(a, x).
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && term > sum * 1e-16; n += 1) {
      term *= x / (a + n);
      sum += term;
    }
    return Math.max(0, 1 - sum * front);
  }
  // The continued fraction for Q(a, x) (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i += 1) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return front * h;
}

export interface ChiSquare {
  statistic: number;
  df: number;
  p: number;
}

/** Pearson's statistic of counts against equal expected counts. */
export function chiSquareUniform(counts: number[]): ChiSquare {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const expected = total / counts.length;
  const statistic = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  const df = counts.length - 1;
  return { statistic, df, p: chiSquarePValue(statistic, df) };
}

// --- fairness: the pre-queue shuffle ----------------------------------------------------

export interface ShuffleTally {
  runs: number;
  users: number;
  /** How often each admission order came out; key: the arrival numbers in admission order. */
  orders: Map<string, number>;
  /** places[arrival][place]: how often the arrival-th joiner was admitted place-th. */
  places: number[][];
}

/** Admits one user per call, whatever the rate: the admission order shows in expiresAtMs. */
const oneAtATime = (nowMs: number, users: number): AdmissionLimits => ({
  nowMs,
  ratePerMs: 0,
  burst: users,
  maxActiveShoppers: null,
  admissionWindowMs: windowMs,
  batchMax: 1,
});

/**
 * Users u0, u1, … join before the opening in that order, each with its key; then the room
 * admits one at a time. Returns each arrival's place in the admission order.
 */
async function preQueueAdmissionOrder(room: WaitingRoom, eventId: string, keys: (number | null)[]): Promise<number[]> {
  const users = keys.map((_, arrival) => `u${arrival}`);
  for (const [arrival, user] of users.entries()) {
    const state = await room.join(eventId, user, keys[arrival]!, openMs - users.length + arrival);
    assert.equal(state.kind, 'waiting');
  }
  const shown = (await room.states(eventId, users, openMs - 1)).map((state) => waitingAhead(state));
  for (let place = 0; place < users.length; place += 1) {
    assert.equal(await room.admit(eventId, oneAtATime(openMs + place, users.length)), 1, 'one admitted per call');
  }
  const places = (await room.states(eventId, users, openMs + users.length)).map((state) => {
    assert.equal(state.kind, 'admitted');
    return state.expiresAtMs - windowMs - openMs;
  });
  assert.deepEqual(places, shown, 'the admission order is the order the line showed');
  await room.closeRoom(eventId);
  return places;
}

function waitingAhead(state: QueueState): number {
  assert.equal(state.kind, 'waiting');
  return state.ahead;
}

/**
 * Many independent pre-queues of the same users joining in the same order, keys drawn as
 * joinQueue draws them (queueKeyFor + drawQueueKey), from one word source.
 */
export async function tallyPreQueueShuffles(
  room: WaitingRoom,
  options: { runs: number; users: number; words: () => number; eventPrefix: string; parallel?: number },
): Promise<ShuffleTally> {
  const { runs, users, words } = options;
  const tally: ShuffleTally = {
    runs,
    users,
    orders: new Map(),
    places: Array.from({ length: users }, () => new Array<number>(users).fill(0)),
  };
  const parallel = options.parallel ?? 1;
  for (let start = 0; start < runs; start += parallel) {
    const batch: Promise<number[]>[] = [];
    for (let run = start; run < Math.min(runs, start + parallel); run += 1) {
      // Drawn before any await: the same seed gives the same keys however the batch interleaves.
      const keys = Array.from({ length: users }, (_, arrival) =>
        queueKeyFor(
          openMs - users + arrival,
          openMs,
          () => drawQueueKey(words),
          () => null,
        ),
      );
      batch.push(preQueueAdmissionOrder(room, `${options.eventPrefix}${run}`, keys));
    }
    for (const places of await Promise.all(batch)) {
      const order = new Array<number>(users);
      places.forEach((place, arrival) => {
        order[place] = arrival;
        tally.places[arrival]![place]! += 1;
      });
      const key = order.join(',');
      tally.orders.set(key, (tally.orders.get(key) ?? 0) + 1);
    }
  }
  return tally;
}

function permutations(n: number): string[] {
  const out: string[] = [];
  const walk = (prefix: number[], rest: number[]) => {
    if (rest.length === 0) out.push(prefix.join(','));
    rest.forEach((item, index) => walk([...prefix, item], [...rest.slice(0, index), ...rest.slice(index + 1)]));
  };
  walk(
    [],
    Array.from({ length: n }, (_, index) => index),
  );
  return out;
}

export interface ShuffleStats {
  /** Over the n! admission orders, against n!-1 degrees of freedom. */
  orders: ChiSquare;
  /**
   * Over the n×n place-by-arrival matrix. The cells of a random permutation are not
   * independent (every row and column sums to the runs): the Pearson sum is k/(k-1)·χ²((k-1)²)
   * under uniformity, so it is scaled by (k-1)/k.
   */
  placeByArrival: ChiSquare;
  /** The first arriver's places alone (a multinomial over n places). */
  firstArriver: ChiSquare;
  /** Each arrival's mean place (the middle is (n-1)/2) and the standard error of a mean. */
  meanPlaces: number[];
  standardError: number;
}

export function shuffleStats(tally: ShuffleTally): ShuffleStats {
  const { runs, users: k } = tally;
  const orders = chiSquareUniform(permutations(k).map((order) => tally.orders.get(order) ?? 0));
  const expected = runs / k;
  const pearson = tally.places.flat().reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  const statistic = (pearson * (k - 1)) / k;
  const df = (k - 1) ** 2;
  return {
    orders,
    placeByArrival: { statistic, df, p: chiSquarePValue(statistic, df) },
    firstArriver: chiSquareUniform(tally.places[0]!),
    meanPlaces: tally.places.map((row) => row.reduce((sum, count, place) => sum + count * place, 0) / runs),
    standardError: Math.sqrt((k * k - 1) / 12 / runs),
  };
}

const describeChi = (chi: ChiSquare) => `χ²=${chi.statistic.toFixed(2)} (df ${chi.df}, p=${chi.p.toFixed(4)})`;

/** Uniform at significance 0.001 on every statistic; no arrival's mean place is off the middle. */
export function assertUniformShuffle(tally: ShuffleTally, label: string): ShuffleStats {
  const stats = shuffleStats(tally);
  const middle = (tally.users - 1) / 2;
  console.log(
    `${label}: ${tally.runs} shuffles of ${tally.users}: orders ${describeChi(stats.orders)}; ` +
      `place×arrival ${describeChi(stats.placeByArrival)}; first arriver ${describeChi(stats.firstArriver)}; ` +
      `mean places ${stats.meanPlaces.map((mean) => mean.toFixed(3)).join(' ')} (middle ${middle}, ` +
      `s.e. ${stats.standardError.toFixed(3)})`,
  );
  const significance = 0.001;
  assert.ok(stats.orders.p > significance, `admission orders are not uniform: ${describeChi(stats.orders)}`);
  assert.ok(stats.placeByArrival.p > significance, `places depend on arrival: ${describeChi(stats.placeByArrival)}`);
  assert.ok(stats.firstArriver.p > significance, `the first arriver's place: ${describeChi(stats.firstArriver)}`);
  stats.meanPlaces.forEach((mean, arrival) => {
    // 4.5 standard errors: p ≈ 7e-6 per arrival under fairness.
    assert.ok(
      Math.abs(mean - middle) < 4.5 * stats.standardError,
      `arrival ${arrival} has mean place ${mean}, not ${middle} ± ${4.5 * stats.standardError}`,
    );
  });
  return stats;
}

// --- first come, first served after the opening -----------------------------------------

/**
 * A model of the line: a pre-queue drawn before the opening, then joins after it (new users,
 * users joining again while waiting or admitted, users whose admission expired), interleaved
 * with admissions of random batch sizes. After every step, every user's state must be the
 * model's: the pre-queue in key order first, then arrivals strictly in arrival order.
 */
export async function checkFirstComeAfterOpening(room: WaitingRoom, eventId: string, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const words = seededWords(seed ^ 0x5bd1e995);
  const shortWindowMs = 5_000;
  const line: string[] = [];
  const admitted = new Map<string, number>();
  const known: string[] = [];
  let nowMs = openMs - 60_000;
  let next = 0;

  const preQueue: [string, number][] = [];
  for (let count = 3 + random.int(6); count > 0; count -= 1) {
    const user = `pre-${next++}`;
    const key = queueKeyFor(
      nowMs,
      openMs,
      () => drawQueueKey(words),
      () => null,
    );
    assert.notEqual(key, null, 'before the opening a key is drawn');
    assert.equal((await room.join(eventId, user, key, nowMs)).kind, 'waiting');
    preQueue.push([user, key!]);
    known.push(user);
    nowMs += random.int(1_000);
  }
  // Ties cannot happen with 52-bit keys; the rooms would break them by user id.
  line.push(...preQueue.sort(([a, keyA], [b, keyB]) => keyA - keyB || (a < b ? -1 : 1)).map(([user]) => user));
  nowMs = openMs;

  const checkAll = async (step: string) => {
    const states = await room.states(eventId, known, nowMs);
    known.forEach((user, index) => {
      const expiresAtMs = admitted.get(user);
      const expected: QueueState =
        expiresAtMs !== undefined
          ? expiresAtMs > nowMs
            ? { kind: 'admitted', expiresAtMs }
            : { kind: 'expired', expiredAtMs: expiresAtMs }
          : { kind: 'waiting', ahead: line.indexOf(user) };
      assert.deepEqual(states[index], expected, `${user} after ${step} (seed ${seed})`);
    });
  };
  await checkAll('the pre-queue');

  for (let step = 0; step < 150; step += 1) {
    nowMs += random.pick([0, 0, 1, random.int(500), random.int(3_000)]);
    const roll = random.next();
    if (roll < 0.35) {
      const user = `post-${next++}`;
      const key = queueKeyFor(
        nowMs,
        openMs,
        () => drawQueueKey(words),
        () => null,
      );
      assert.equal(key, null, 'from the opening on there is no key: the next arrival number');
      assert.deepEqual(await room.join(eventId, user, key, nowMs), { kind: 'waiting', ahead: line.length });
      line.push(user);
      known.push(user);
    } else if (roll < 0.5 && known.length > 0) {
      // Someone joins again: waiting or admitted keep their place; expired go to the back.
      const user = random.pick(known);
      const expiresAtMs = admitted.get(user);
      const state = await room.join(eventId, user, null, nowMs);
      if (expiresAtMs !== undefined && expiresAtMs <= nowMs) {
        admitted.delete(user);
        assert.deepEqual(state, { kind: 'waiting', ahead: line.length }, `${user} expired: the back of the line`);
        line.push(user);
      } else if (expiresAtMs !== undefined) {
        assert.deepEqual(state, { kind: 'admitted', expiresAtMs });
      } else {
        assert.deepEqual(state, { kind: 'waiting', ahead: line.indexOf(user) }, `${user} keeps the place`);
      }
    } else {
      const batchMax = 1 + random.int(3);
      const count = await room.admit(eventId, {
        nowMs,
        ratePerMs: 0,
        burst: 1e9,
        maxActiveShoppers: null,
        admissionWindowMs: shortWindowMs,
        batchMax,
      });
      assert.equal(count, Math.min(batchMax, line.length), `admitted at ${nowMs - openMs} ms (seed ${seed})`);
      for (const user of line.splice(0, count)) admitted.set(user, nowMs + shortWindowMs);
    }
    await checkAll(`step ${step}`);
  }
}

// --- the admission rate -----------------------------------------------------------------

export interface RateScenario {
  admitPerMinute: number;
  tickMs: number;
  batchMax: number;
  durationMs: number;
  /** Processes calling admit (rooms[i % rooms.length]); each with its clock's offset. */
  offsetsMs: number[];
  /** Gaps between ticks at most tickMs (the admitter's cadence): liveness is checked then. */
  regular: boolean;
  /** Every process ticks at each instant at once (Promise.all), else one at random. */
  concurrent: boolean;
  /** A line that never runs dry, else users trickle in and the meter fills while nobody waits. */
  backlog: boolean;
}

const settingsOf = (scenario: RateScenario): WaitingRoomSettings => ({
  enabled: true,
  admitPerMinute: scenario.admitPerMinute,
  maxActiveShoppers: null,
  admissionWindowMs: windowMs,
  paused: false,
  challenge: false,
});

export function drawRateScenario(
  random: Random,
  options: { processes: number; regular: boolean; concurrent: boolean; maxAdmissions: number },
): RateScenario {
  const tickMs = random.pick([10, 100, 250, 250, 1_000]);
  const admitPerMinute = random.pick([1, 7, 60, 100, 180, 600, 600, 1_000, 2_500, 1 + random.int(6_000)]);
  // About 300 ticks, unless that would admit more than maxAdmissions.
  const durationMs = Math.max(
    tickMs,
    Math.min(tickMs * (options.regular ? 150 : 600), (options.maxAdmissions * 60_000) / admitPerMinute),
  );
  const skewMs = options.regular ? 0 : random.pick([0, 0, 5, 100, 2_000]);
  return {
    admitPerMinute,
    tickMs,
    batchMax: options.regular ? 100_000 : random.pick([1, 2, 5, 1_000]),
    durationMs: Math.round(durationMs),
    offsetsMs: Array.from({ length: options.processes }, () =>
      skewMs === 0 ? 0 : random.int(2 * skewMs + 1) - skewMs,
    ),
    regular: options.regular,
    concurrent: options.concurrent,
    backlog: options.regular || random.next() < 0.5,
  };
}

function nextGap(random: Random, scenario: RateScenario): number {
  const { tickMs } = scenario;
  if (random.next() < 0.3) return 0; // several ticks in the same millisecond
  if (scenario.regular) return random.pick([tickMs, 1 + random.int(tickMs)]);
  // Mostly within a tick, sometimes a few ticks, now and then a long pause (the meter fills up).
  return (
    random.pick([1, 1 + random.int(tickMs), 1 + random.int(tickMs), tickMs, tickMs + random.int(5 * tickMs)]) *
    (random.next() < 0.03 ? 20 + random.int(40) : 1)
  );
}

export interface Admissions {
  /** The true instant of each tick and how many it admitted (all processes together). */
  ticks: { atMs: number; count: number }[];
  users: string[];
}

/**
 * Ticks the room's admitter at random instants from several processes (each possibly with a
 * skewed clock) while users join, and returns what each tick admitted. Checks that every user
 * is admitted at most once: the admitted users are exactly as many as the ticks reported.
 */
export async function runRateScenario(
  rooms: WaitingRoom[],
  eventId: string,
  scenario: RateScenario,
  random: Random,
): Promise<Admissions> {
  const settings = settingsOf(scenario);
  const options = { tickMs: scenario.tickMs, batchMax: scenario.batchMax };
  const burst = burstOf(scenario.admitPerMinute, scenario.tickMs);
  const users: string[] = [];
  const join = async (count: number, atMs: number) => {
    for (let index = 0; index < count; index += 1) {
      const user = `r-${users.length}`;
      users.push(user);
      await rooms[users.length % rooms.length]!.join(eventId, user, null, atMs);
    }
  };
  const startMs = openMs;
  const endMs = startMs + scenario.durationMs;
  if (scenario.backlog) {
    await join(Math.ceil(burst + (scenario.admitPerMinute * scenario.durationMs) / 60_000) + 2, startMs - 1);
  } else {
    await join(random.int(3), startMs - 1);
  }
  const ticks: Admissions['ticks'] = [];
  const admitAt = (process: number, atMs: number) =>
    rooms[process % rooms.length]!.admit(
      eventId,
      admissionLimits(settings, atMs + scenario.offsetsMs[process]!, options),
    );
  for (let atMs = startMs; atMs <= endMs; atMs += nextGap(random, scenario)) {
    if (!scenario.backlog && random.next() < 0.3) await join(random.pick([1, 1, 2, 10, 50]), atMs);
    const counts = scenario.concurrent
      ? await Promise.all(scenario.offsetsMs.map((_, process) => admitAt(process, atMs)))
      : [await admitAt(random.int(scenario.offsetsMs.length), atMs)];
    ticks.push({ atMs, count: counts.reduce((sum, count) => sum + count, 0) });
  }
  const total = ticks.reduce((sum, tick) => sum + tick.count, 0);
  const states = await rooms[0]!.states(eventId, users, endMs);
  const admitted = states.filter((state) => state.kind === 'admitted' || state.kind === 'expired').length;
  const waiting = states.filter((state) => state.kind === 'waiting').length;
  assert.equal(admitted, total, 'every admission is a different user: nobody admitted twice, nobody lost');
  assert.equal(admitted + waiting, users.length);
  assert.equal(await rooms[0]!.waitingCount(eventId), waiting);
  await rooms[0]!.closeRoom(eventId);
  return { ticks, users };
}

const describeScenario = (scenario: RateScenario) =>
  `${scenario.admitPerMinute}/min, tick ${scenario.tickMs} ms (burst ${burstOf(scenario.admitPerMinute, scenario.tickMs)}), ` +
  `batch ${scenario.batchMax}, ${scenario.durationMs} ms, offsets ${scenario.offsetsMs.join('/')} ms, ` +
  `${scenario.regular ? 'regular' : 'irregular'}${scenario.concurrent ? ', concurrent' : ''}${scenario.backlog ? ', backlog' : ''}`;

/**
 * For EVERY window [a, b] between two ticks: the people admitted at instants in it are at most
 * burst + rate·(b − a), widened by the clocks' disagreement (a process whose clock is ahead
 * refills the meter early). With ticks at most tickMs apart, one clock and a line that never
 * runs dry, the meter must also deliver: at least rate·T − burst − 1 over the run.
 */
export function assertAdmissionRate(admissions: Admissions, scenario: RateScenario, label: string): void {
  const ratePerMs = scenario.admitPerMinute / 60_000;
  const burst = burstOf(scenario.admitPerMinute, scenario.tickMs);
  const skewMs = Math.max(...scenario.offsetsMs) - Math.min(...scenario.offsetsMs);
  const { ticks } = admissions;
  const before = [0];
  for (const tick of ticks) before.push(before.at(-1)! + tick.count);
  for (let first = 0; first < ticks.length; first += 1) {
    if (ticks[first]!.count === 0) continue; // a window that starts with nothing is inside a tighter one
    for (let last = first; last < ticks.length; last += 1) {
      const count = before[last + 1]! - before[first]!;
      const spanMs = ticks[last]!.atMs - ticks[first]!.atMs;
      const bound = burst + ratePerMs * (spanMs + skewMs);
      if (count > bound + epsilon) {
        assert.fail(
          `${label}: ${count} admitted in [${ticks[first]!.atMs - openMs}, ${ticks[last]!.atMs - openMs}] ms, ` +
            `more than burst + rate·T = ${bound}; ${describeScenario(scenario)}`,
        );
      }
    }
  }
  if (!scenario.regular || !scenario.backlog || skewMs > 0) return;
  const total = before.at(-1)!;
  const spanMs = ticks.at(-1)!.atMs - ticks[0]!.atMs;
  const floor = ratePerMs * spanMs - burst - 1;
  assert.ok(
    total >= floor,
    `${label}: only ${total} admitted over ${spanMs} ms, fewer than rate·T − burst − 1 = ${floor.toFixed(2)} ` +
      `(${((total / spanMs) * 60_000).toFixed(1)}/min); ${describeScenario(scenario)}`,
  );
}

/** Scenarios drawn from one seed, each run and checked; the seed is printed for a replay. */
export async function checkAdmissionRates(
  rooms: WaitingRoom[],
  options: {
    seed: number;
    scenarios: number;
    eventPrefix: string;
    regular: boolean;
    concurrent: boolean;
    maxAdmissions: number;
    label: string;
  },
): Promise<number> {
  const random = seededRandom(options.seed);
  let admitted = 0;
  for (let index = 0; index < options.scenarios; index += 1) {
    const scenario = drawRateScenario(random, { ...options, processes: 3 });
    const admissions = await runRateScenario(rooms, `${options.eventPrefix}${index}`, scenario, random);
    assertAdmissionRate(admissions, scenario, `${options.label} scenario ${index} (seed ${options.seed})`);
    admitted += admissions.ticks.reduce((sum, tick) => sum + tick.count, 0);
  }
  return admitted;
}

// --- the shopper cap --------------------------------------------------------------------

const capLimits = (nowMs: number, maxActiveShoppers: number, admissionWindowMs: number): AdmissionLimits => ({
  nowMs,
  ratePerMs: 0,
  burst: 1_000,
  maxActiveShoppers,
  admissionWindowMs,
  batchMax: 1_000,
});

/** The cap by hand: full → nobody; a shopper finishes → one; an admission ends → one more. */
export async function checkCapSlots(room: WaitingRoom, eventId: string): Promise<void> {
  const window = 10_000;
  const users = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const user of users) await room.join(eventId, user, null, openMs);
  const state = async (user: string, nowMs: number) => (await room.states(eventId, [user], nowMs))[0];
  assert.equal(await room.admit(eventId, capLimits(openMs, 2, window)), 2, 'a and b fill the cap');
  assert.equal(await room.admit(eventId, capLimits(openMs + 1_000, 2, window)), 0, 'the cap is full');
  await room.finish(eventId, 'a');
  assert.deepEqual(await state('a', openMs + 1_001), { kind: 'absent' }, 'a finished shopping');
  assert.equal(await room.admit(eventId, capLimits(openMs + 1_001, 2, window)), 1, 'a finished: c goes in');
  assert.deepEqual(await state('c', openMs + 1_001), { kind: 'admitted', expiresAtMs: openMs + 1_001 + window });
  assert.equal(await room.admit(eventId, capLimits(openMs + window - 1, 2, window)), 0, 'b is still shopping');
  assert.equal(await room.admit(eventId, capLimits(openMs + window, 2, window)), 1, "b's admission ended: d goes in");
  assert.deepEqual(await state('b', openMs + window), { kind: 'expired', expiredAtMs: openMs + window });
  assert.deepEqual(await state('d', openMs + window), { kind: 'admitted', expiresAtMs: openMs + 2 * window });
  assert.deepEqual(await state('e', openMs + window), { kind: 'waiting', ahead: 0 });
  assert.equal(await room.admit(eventId, capLimits(openMs + window + 1_001, 2, window)), 1, "c's ended: e");
  await room.finish(eventId, 'not-admitted');
  await room.finish(eventId, 'f'); // still waiting: finishing frees no slot and does not admit f
  assert.equal(await room.admit(eventId, capLimits(openMs + window + 1_002, 2, window)), 0, 'd and e shop');
  assert.deepEqual(await state('f', openMs + window + 1_002), { kind: 'waiting', ahead: 0 });
  await room.closeRoom(eventId);
}

/**
 * "Your turn" notices: an admitted user who left an address gets one notice, with the
 * admission's end; one who left none gets none; joining again while waiting does not
 * make two; dropped notices are gone, and dropping one twice (two processes) is harmless.
 */
export async function checkAdmissionNotices(rooms: WaitingRoom[], eventId: string): Promise<void> {
  const [room, other] = [rooms[0]!, rooms[1 % rooms.length]!];
  const window = 60_000;
  await room.join(eventId, 'with-mail', null, openMs, 'with-mail@example.com');
  await room.join(eventId, 'no-mail', null, openMs);
  await other.join(eventId, 'with-mail', null, openMs + 1, 'with-mail@example.com');
  await room.join(eventId, 'later', null, openMs + 2, 'later@example.com');
  assert.deepEqual(await room.notices(eventId, 10), [], 'nobody admitted yet');
  assert.equal(await room.admit(eventId, capLimits(openMs + 10, 2, window)), 2, 'the cap lets two in');
  const notices = await other.notices(eventId, 10);
  assert.deepEqual(notices, [
    { userId: 'with-mail', email: 'with-mail@example.com', expiresAtMs: openMs + 10 + window },
  ]);
  await room.dropNotices(eventId, notices);
  await other.dropNotices(eventId, notices);
  assert.deepEqual(await room.notices(eventId, 10), []);
  assert.equal(await other.admit(eventId, capLimits(openMs + 20, 3, window)), 1, 'one more');
  assert.deepEqual(await room.notices(eventId, 10), [
    { userId: 'later', email: 'later@example.com', expiresAtMs: openMs + 20 + window },
  ]);
  await room.closeRoom(eventId);
}

/**
 * The cap at random: ticks from several processes, shoppers finishing at random, admissions
 * ending. After every tick the shoppers with an unexpired, unfinished admission are at most
 * the cap, and the admitted are the next in line (the model agrees with the room's states).
 */
export async function checkCapAtRandom(rooms: WaitingRoom[], eventId: string, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const cap = 1 + random.int(5);
  const admissionWindowMs = 1_000 + random.int(10_000);
  const settings: WaitingRoomSettings = {
    enabled: true,
    admitPerMinute: random.pick([60, 600, 6_000]),
    maxActiveShoppers: cap,
    admissionWindowMs,
    paused: false,
    challenge: false,
  };
  const options = { tickMs: random.pick([100, 250, 1_000]), batchMax: random.pick([1, 3, 1_000]) };
  const line = Array.from({ length: 400 }, (_, index) => `c-${index}`);
  for (const user of line) await rooms[0]!.join(eventId, user, null, openMs - 1);
  const shopping = new Map<string, number>();
  const room = () => random.pick(rooms);
  let nowMs = openMs;
  let admittedTotal = 0;
  for (let step = 0; step < 250 && line.length > 0; step += 1) {
    nowMs += random.pick([0, 0, 1, random.int(500), random.int(admissionWindowMs)]);
    for (const [user, expiresAtMs] of shopping) {
      if (expiresAtMs <= nowMs) shopping.delete(user);
      else if (random.next() < 0.15) {
        await room().finish(eventId, user);
        shopping.delete(user);
      }
    }
    const count = await room().admit(eventId, admissionLimits(settings, nowMs, options));
    const admitted = line.splice(0, count);
    for (const user of admitted) shopping.set(user, nowMs + admissionWindowMs);
    admittedTotal += count;
    assert.ok(shopping.size <= cap, `${shopping.size} shoppers at once, over the cap ${cap} (seed ${seed})`);
    const states = await rooms[0]!.states(eventId, [...admitted, ...line.slice(0, 1)], nowMs);
    admitted.forEach((user, index) =>
      assert.deepEqual(states[index], { kind: 'admitted', expiresAtMs: nowMs + admissionWindowMs }, `${user}`),
    );
    if (line.length > 0) assert.deepEqual(states[admitted.length], { kind: 'waiting', ahead: 0 }, 'the next in line');
  }
  assert.ok(admittedTotal > cap, `the cap frees up over time: ${admittedTotal} admitted (seed ${seed})`);
  await rooms[0]!.closeRoom(eventId);
}
