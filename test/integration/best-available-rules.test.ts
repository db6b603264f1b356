// Best available has one specification (domain/best-available.ts chooseSeats) and two
// twins: the in-process board calls it; the Redis board runs adapters/redis/lua/best.lua
// over the rows it judges worth asking. On random seat maps, with seats booked, blocked,
// held (live or lapsed) and provisionally taken by gate passes, a sequence of requests goes
// to the board of each pass (both boards on the PostgreSQL pass, which has Redis; the
// in-process board on the PGlite pass) and to chooseSeats over the gate rules
// (app/seat-board-rules.ts isBlocking): every choice must be the same seats.
//
// Replay a failure: TEST_SEED=<seed> node test/run.mjs best-available-rules
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { MemorySeatBoard } from '../../src/adapters/memory/seat-board.ts';
import { RedisSeatBoard } from '../../src/adapters/redis/seat-board.ts';
import type { SeatState } from '../../src/app/ports/events.ts';
import type { SeatBoard } from '../../src/app/ports/seat-board.ts';
import { appliedEntry, isBlocking, type GateEntry } from '../../src/app/seat-board-rules.ts';
import { candidateRows, chooseSeats, seatPlanOf, type BestAvailableRequest } from '../../src/domain/best-available.ts';
import { deleteRedisKeys, redisUrl, testDb } from '../support/harness.ts';
import { seedFromEnv } from '../support/random.ts';
import { sectionsArb } from '../support/seat-plans.ts';

const onRedis = testDb === 'postgres';
const pendingMs = 60_000;
const startMs = 1_800_000_000_000;

type SeatSetUp = 'free' | 'booked' | 'blocked' | 'held' | 'lapsed' | 'passed';
const setUpArb = fc.constantFrom<SeatSetUp>('free', 'free', 'free', 'booked', 'blocked', 'held', 'lapsed', 'passed');

const requestArb: fc.Arbitrary<Omit<BestAvailableRequest, 'priceTier' | 'section'>> = fc.record({
  count: fc.integer({ min: 1, max: 5 }),
  together: fc.boolean(),
  accessible: fc.boolean(),
});

const caseArb = sectionsArb.chain((sections) => {
  const seatCount = sections.reduce((sum, section) => sum + section.rows.reduce((n, row) => n + row.seats, 0), 0);
  return fc.record({
    sections: fc.constant(sections),
    seats: fc.array(setUpArb, { minLength: seatCount, maxLength: seatCount }),
    requests: fc.array(requestArb, { minLength: 1, maxLength: 5 }),
  });
});

/** The gate's entries as the rules keep them, for chooseSeats to judge by. */
class ReferenceGate {
  readonly entries = new Map<number, GateEntry>();

  apply(state: SeatState, nowMs: number): void {
    const entry = appliedEntry(this.entries.get(state.seatNo), state, nowMs);
    if (entry) this.entries.set(state.seatNo, entry);
  }

  take(seatNos: number[], holder: string, nowMs: number): void {
    for (const seatNo of seatNos) {
      const version = this.entries.get(seatNo)?.version ?? 0;
      this.entries.set(seatNo, { state: 'P', version, expiresAtMs: nowMs + pendingMs, holder });
    }
  }
}

describe(`best available: the boards choose as the specification (${onRedis ? 'Redis Lua and in-process' : 'in-process'})`, () => {
  const prefix = `bxt:best-${randomBytes(6).toString('hex')}:`;
  const clock = { now: startMs, nowMs: () => clock.now };
  const errors: unknown[] = [];
  const boards: { name: string; board: SeatBoard }[] = [];
  const seatCounts = new Map<string, number>();

  before(async () => {
    const common = {
      loader: async (eventId: string) => ({ seatCount: seatCounts.get(eventId) ?? 0, states: [] }),
      clock,
      pendingMs,
      logMax: 100,
    };
    boards.push({ name: 'in-process', board: new MemorySeatBoard(common) });
    if (onRedis) {
      const redis = new RedisSeatBoard({
        ...common,
        urls: [redisUrl],
        cluster: false,
        keyPrefix: prefix,
        commandTimeoutMs: 2_000,
        onError: (error, context) => errors.push(`${context}: ${String(error)}`),
      });
      for (let waited = 0; redis.health() === 'down'; waited += 20) {
        assert.ok(waited < 5_000, 'Redis connects');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      boards.push({ name: 'Redis', board: redis });
    }
  });

  after(async () => {
    for (const { board } of boards) await board.close();
    if (onRedis) await deleteRedisKeys(redisUrl, prefix);
  });

  test('when random maps and requests are replayed, then every board chooses the seats chooseSeats chooses', async () => {
    const seed = seedFromEnv();
    console.log(`best available rules seed: ${seed} (replay with TEST_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ sections, seats, requests }) => {
        const eventId = randomUUID();
        seatCounts.set(eventId, seats.length);
        clock.now += 1_000; // past the Redis board's shared reading of any earlier map
        const nowMs = clock.now;
        const reference = new ReferenceGate();
        const states: SeatState[] = [];
        const passes: number[] = [];
        seats.forEach((setUp, seatNo) => {
          if (setUp === 'free') return;
          if (setUp === 'passed') return passes.push(seatNo);
          const held = setUp === 'held' || setUp === 'lapsed';
          states.push({
            seatNo,
            version: seatNo + 1,
            status: held ? 'held' : setUp,
            holder: held ? `r${seatNo}` : null,
            expiresAtMs: setUp === 'held' ? nowMs + 600_000 : setUp === 'lapsed' ? nowMs - 1 : null,
          });
        });
        for (const state of states) reference.apply(state, nowMs);
        reference.take(passes, 'earlier', nowMs);
        // Reports that some passed seats are free (a hold on them lapsed and was swept while
        // the pass was being recorded): the passes keep them.
        const freed: SeatState[] = passes
          .filter((_, index) => index % 2 === 0)
          .map((seatNo) => ({
            seatNo,
            version: seats.length + seatNo + 1,
            status: 'available',
            holder: null,
            expiresAtMs: null,
          }));
        for (const state of freed) reference.apply(state, nowMs);
        for (const { board } of boards) {
          assert.ok(await board.availability(eventId, seats.length, nowMs), 'the map warms');
          await board.apply(eventId, states);
          if (passes.length > 0) assert.equal((await board.tryHold(eventId, passes, 'earlier', nowMs)).kind, 'passed');
          await board.apply(eventId, freed);
        }
        const plan = seatPlanOf(sections);
        for (const [index, shape] of requests.entries()) {
          const request = { ...shape, priceTier: undefined, section: undefined };
          const rows = candidateRows(plan, request);
          const isFree = (seatNo: number) => !isBlocking(reference.entries.get(seatNo), nowMs);
          const expected = chooseSeats(rows, isFree, request.count, request.together);
          const holder = `best-${index}`;
          if (expected) reference.take(expected, holder, nowMs);
          for (const { name, board } of boards) {
            const answer = await board.tryHoldBest(eventId, seats.length, rows, request, holder, nowMs);
            const where = `${name}, request ${index} ${JSON.stringify(request)}, seats ${JSON.stringify(seats)}`;
            assert.deepEqual(answer, expected ? { kind: 'passed', seatNos: expected } : { kind: 'none' }, where);
          }
        }
      }),
      { seed, numRuns: onRedis ? 200 : 300 },
    );
    assert.deepEqual(errors, []);
  });
});
