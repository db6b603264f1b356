// One specification for both seat boards: the rules of src/app/seat-board-rules.ts (a gate
// entry blocks while booked, or while held or provisionally taken and not yet expired;
// changes apply newest version first; a hold shows available from its expiry on). Random
// sequences of gate passes, give-backs, applied changes and clock moves (landing on expiry
// instants) go to the board each pass runs (adapters/redis/lua/*.lua on the PostgreSQL pass,
// the in-process board on the PGlite pass) and to a reference model built on those rules;
// every gate answer and every seat of the live map must agree.
//
// Replay a failure: TEST_SEED=<seed> node test/run.mjs seat-board-rules
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { MemorySeatBoard } from '../../src/adapters/memory/seat-board.ts';
import { RedisSeatBoard } from '../../src/adapters/redis/seat-board.ts';
import type { SeatStatus } from '../../src/domain/holds.ts';
import { readSeatStatus } from '../../src/domain/availability.ts';
import type { SeatState } from '../../src/app/ports/events.ts';
import type { SeatBoard } from '../../src/app/ports/seat-board.ts';
import { isBlocking, type GateEntry } from '../../src/app/seat-board-rules.ts';
import { deleteRedisKeys, redisUrl, testDb } from '../support/harness.ts';
import { seedFromEnv } from '../support/random.ts';

const onRedis = testDb === 'postgres';
const kind = onRedis ? 'Redis' : 'in-process';
const seatCount = 6;
const pendingMs = 3_000;
const holders = ['h1', 'h2', 'h3'];
const startMs = 1_800_000_000_000;

type Command =
  | { op: 'hold'; seatNos: number[]; holder: string }
  | { op: 'abandon'; seatNos: number[]; holder: string }
  | { op: 'apply'; seatNo: number; status: SeatStatus; expiresInMs: number; holder: string; stale: boolean }
  | { op: 'advance'; ms: number };

const seatsArb = fc.uniqueArray(fc.integer({ min: 0, max: seatCount - 1 }), { minLength: 1, maxLength: 3 });
const holderArb = fc.constantFrom(...holders);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('hold' as const), seatNos: seatsArb, holder: holderArb }),
  fc.record({ op: fc.constant('abandon' as const), seatNos: seatsArb, holder: holderArb }),
  fc.record({
    op: fc.constant('apply' as const),
    seatNo: fc.integer({ min: 0, max: seatCount - 1 }),
    status: fc.constantFrom<SeatStatus>('available', 'held', 'booked', 'blocked'),
    expiresInMs: fc.constantFrom(-1, 0, 1, pendingMs, 10_000),
    holder: holderArb,
    stale: fc.boolean(),
  }),
  // Moves that land exactly on, just before and just after the expiries above.
  fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(0, 1, pendingMs - 1, pendingMs, 9_999) }),
);

/** The rules, kept as plainly as they read: the gate's entries and the map's last applied states. */
class ReferenceBoard {
  readonly entries = new Map<number, GateEntry>();
  readonly applied = new Map<number, { status: SeatStatus; expiresAtMs: number }>();

  tryHold(seatNos: number[], holder: string, nowMs: number): number[] {
    const conflicts = seatNos.filter((seatNo) => isBlocking(this.entries.get(seatNo), nowMs));
    if (conflicts.length > 0) return conflicts;
    for (const seatNo of seatNos) {
      const version = this.entries.get(seatNo)?.version ?? 0;
      this.entries.set(seatNo, { state: 'P', version, expiresAtMs: nowMs + pendingMs, holder });
    }
    return [];
  }

  abandon(seatNos: number[], holder: string): void {
    for (const seatNo of seatNos) {
      const entry = this.entries.get(seatNo);
      if (entry?.state === 'P' && entry.holder === holder) this.entries.set(seatNo, { ...entry, state: 'F' });
    }
  }

  apply(state: SeatState, nowMs: number): void {
    const current = this.entries.get(state.seatNo);
    if (state.version <= (current?.version ?? 0)) return; // newest version wins
    const held = state.status === 'held';
    const letter = ({ available: 'F', held: 'H', booked: 'B', blocked: 'K' } as const)[state.status];
    // A report that the seat is free leaves a live gate pass in place, at the new version.
    const passKept = state.status === 'available' && current?.state === 'P' && current.expiresAtMs > nowMs;
    this.entries.set(
      state.seatNo,
      passKept
        ? { ...current, version: state.version }
        : {
            state: letter,
            version: state.version,
            expiresAtMs: held ? state.expiresAtMs! : 0,
            holder: held ? state.holder! : '',
          },
    );
    this.applied.set(state.seatNo, { status: state.status, expiresAtMs: held ? state.expiresAtMs! : 0 });
  }

  /** What the live map shows: a hold is available from its expiry on, swept or not. */
  statusAt(seatNo: number, nowMs: number): SeatStatus {
    const applied = this.applied.get(seatNo);
    if (!applied) return 'available';
    if (applied.status === 'held' && applied.expiresAtMs <= nowMs) return 'available';
    return applied.status;
  }
}

describe(`seat board rules (${kind})`, () => {
  const prefix = `bxt:rules-${randomBytes(6).toString('hex')}:`;
  const clock = { now: startMs, nowMs: () => clock.now };
  const errors: unknown[] = [];
  let board: SeatBoard;

  before(async () => {
    const common = {
      loader: async () => ({ seatCount, states: [] }),
      clock,
      pendingMs,
      logMax: 100,
    };
    board = onRedis
      ? new RedisSeatBoard({
          ...common,
          urls: [redisUrl],
          cluster: false,
          keyPrefix: prefix,
          commandTimeoutMs: 2_000,
          onError: (error, context) => errors.push(`${context}: ${String(error)}`),
        })
      : new MemorySeatBoard(common);
    // The Redis board sends nothing before its connection is ready (no offline queue).
    for (let waited = 0; board.health() === 'down'; waited += 20) {
      assert.ok(waited < 5_000, 'Redis connects');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  after(async () => {
    await board.close();
    if (onRedis) await deleteRedisKeys(redisUrl, prefix);
  });

  test('when random gate passes, give-backs, changes and clock moves are replayed, then the board answers as the rules', async () => {
    const seed = seedFromEnv();
    console.log(`seat board rules seed: ${seed} (replay with TEST_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 40 }), async (commands) => {
        const eventId = randomUUID();
        const model = new ReferenceBoard();
        clock.now = startMs;
        let version = 0;
        // Warm the map first (nothing to load): from then on the board holds only what this run did.
        assert.ok(await board.availability(eventId, seatCount, clock.now), 'the map warms');
        for (const [step, command] of commands.entries()) {
          const where = `step ${step} (${JSON.stringify(command)}) at +${clock.now - startMs} ms`;
          if (command.op === 'hold') {
            const expected = model.tryHold(command.seatNos, command.holder, clock.now);
            const answer = await board.tryHold(eventId, command.seatNos, command.holder, clock.now);
            const conflicts = answer.kind === 'conflict' ? [...answer.seatNos].sort() : [];
            assert.notEqual(answer.kind, 'bypassed', where);
            assert.deepEqual(conflicts, [...expected].sort(), where);
          } else if (command.op === 'abandon') {
            model.abandon(command.seatNos, command.holder);
            await board.abandon(eventId, command.seatNos, command.holder);
          } else if (command.op === 'apply') {
            const current = model.entries.get(command.seatNo)?.version ?? 0;
            const stale = command.stale && current > 1;
            if (!stale) version += 1;
            const held = command.status === 'held';
            const state: SeatState = {
              seatNo: command.seatNo,
              version: stale ? current - 1 : version,
              status: command.status,
              holder: held ? command.holder : null,
              expiresAtMs: held ? clock.now + command.expiresInMs : null,
            };
            model.apply(state, clock.now);
            await board.apply(eventId, [state]);
          } else {
            clock.now += command.ms;
          }
          const map = await board.availability(eventId, seatCount, clock.now);
          assert.ok(map, where);
          for (let seatNo = 0; seatNo < seatCount; seatNo += 1) {
            assert.equal(
              readSeatStatus(map.bits, seatNo),
              model.statusAt(seatNo, clock.now),
              `${where}: seat ${seatNo}`,
            );
          }
        }
      }),
      { seed, numRuns: onRedis ? 150 : 300 },
    );
    assert.deepEqual(errors, []);
  });
});
