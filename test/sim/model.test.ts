// Model-based test: random sequences of holds, confirms (fresh and replayed), cancels,
// clock moves, sweeps and reads go through the real HTTP app and are compared, answer by
// answer, with a small in-memory model of the booking rules. One app for the whole file;
// every fast-check run (and every shrink attempt) gets a fresh event and fresh keys.
//
// Replay a failure: FC_SEED=<seed> node test/run.mjs model (runs and shrinks again), or
// straight to the counterexample with FC_SEED=<seed> FC_PATH=<path> FC_REPLAY_PATH=<replayPath>
// (fast-check's report prints all three). FC_RUNS=<n> changes the number of runs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { expireDueHolds } from '../../src/app/expire-holds.ts';
import { auth, checkInvariants, createEvent, startTestApp, type TestApp } from '../support/harness.ts';

const users = ['alice', 'bob', 'carol'] as const;
type User = (typeof users)[number];
const seatCount = 12;
const maxSeatsPerUser = 5;
const holdTtlMs = 60_000;
const advanceMaxMs = 90_000;
const priceOf = (seatNo: number) => (seatNo < 6 ? 10_000 : 5_000);
const seatId = (seatNo: number) => `s${seatNo}`;
const iso = (ms: number) => new Date(ms).toISOString();
const methods = { visa: 'pm_card_visa', declined: 'pm_card_chargeDeclined' } as const;
type Method = keyof typeof methods;

const eventOverrides = {
  max_seats_per_user: maxSeatsPerUser,
  seat_map: {
    sections: [
      { name: 'A', price_tier: 'front', rows: [{ label: '1', seats: 6 }] },
      { name: 'B', price_tier: 'back', rows: [{ label: '1', seats: 6 }] },
    ],
  },
};

// ---------------------------------------------------------------------------- the model

interface ModelReservation {
  id: string;
  user: User;
  seats: number[];
  createdAt: number;
  expiresAt: number;
  /** As the model stores it; an active one past expiresAt is seen as expired. */
  status: 'active' | 'confirmed' | 'cancelled';
  bookingId: string | null;
}

interface KeyUse {
  user: User;
  key: string;
  reservation: ModelReservation;
  method: Method;
  status: number;
  body: Record<string, unknown>;
}

interface Model {
  now: number;
  reservations: ModelReservation[];
  keys: KeyUse[];
  nextKey: number;
}

interface Real {
  t: TestApp;
  clock: ManualClock;
  eventId: string;
  /** Unique per setup: idempotency keys are per user across events, so they must not repeat. */
  run: string;
  tokens: Record<User, string>;
  /** What this execution did, resolved against the model and with the answers: added to a failure's message. */
  trace: string[];
  /** Whether the next answer belongs on the last trace line (only a command's first request's does). */
  awaitingAnswer?: boolean;
}

type Visible = 'active' | 'confirmed' | 'cancelled' | 'expired';

/** What a client sees: a hold ends exactly at expires_at (available from that instant on). */
const visibleStatus = (r: ModelReservation, now: number): Visible =>
  r.status === 'active' && now >= r.expiresAt ? 'expired' : r.status;

function seatStatus(m: Model, seatNo: number): 'available' | 'held' | 'booked' {
  let held = false;
  for (const r of m.reservations) {
    if (!r.seats.includes(seatNo)) continue;
    if (r.status === 'confirmed') return 'booked';
    if (visibleStatus(r, m.now) === 'active') held = true;
  }
  return held ? 'held' : 'available';
}

/** Seats a user holds (live) or has booked on the event: what max_seats_per_user counts. */
function heldOrBooked(m: Model, user: User): number {
  return m.reservations
    .filter((r) => r.user === user && ['active', 'confirmed'].includes(visibleStatus(r, m.now)))
    .reduce((sum, r) => sum + r.seats.length, 0);
}

function note(real: Real, line: string): string {
  real.trace.push(line);
  real.awaitingAnswer = true;
  return line;
}

const stranger = (user: User): User => users[(users.indexOf(user) + 1) % users.length]!;
const pick = <T>(items: T[], index: number): T => items[index % items.length]!;

// ------------------------------------------------------------------------------ helpers

type Json = Record<string, any>;

async function request(
  real: Real,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  user?: User,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await real.t.app.inject({
    method,
    url,
    headers: { ...(user ? auth(real.tokens[user]) : {}), ...headers },
    ...(payload === undefined ? {} : { payload: payload as Json }),
  });
  const body: Json = response.body ? response.json() : {};
  if (real.awaitingAnswer) {
    real.trace[real.trace.length - 1] += ` → ${response.statusCode}${body.code ? ` ${body.code}` : ''}`;
    real.awaitingAnswer = false;
  }
  return { status: response.statusCode, body, headers: response.headers, raw: response.body };
}

function expectProblem(
  response: { status: number; body: Json; raw: string },
  status: number,
  code: string,
  context: string,
) {
  assert.equal(response.status, status, `${context}: ${response.raw}`);
  assert.equal(response.body.code, code, `${context}: ${response.raw}`);
}

const seatsView = (seats: number[]) =>
  [...seats]
    .sort((a, b) => a - b)
    .map((seatNo) => ({
      seat_id: seatId(seatNo),
      section: seatNo < 6 ? 'A' : 'B',
      row: '1',
      number: (seatNo % 6) + 1,
      price_cents: priceOf(seatNo),
    }));
const totalOf = (seats: number[]) => seats.reduce((sum, seatNo) => sum + priceOf(seatNo), 0);

/** A problem document as a replay must repeat it: everything but request_id and replayed. */
const stableProblem = ({ request_id: _id, replayed: _replayed, ...rest }: Json) => rest;

async function assertSeatMap(m: Model, real: Real, context: string) {
  const response = await request(real, 'GET', `/v1/events/${real.eventId}/seats`);
  assert.equal(response.status, 200, response.raw);
  const actual = response.body.seats.map(
    (seat: { seat_id: string; status: string }) => `${seat.seat_id}:${seat.status}`,
  );
  const expected = Array.from({ length: seatCount }, (_, seatNo) => `${seatId(seatNo)}:${seatStatus(m, seatNo)}`);
  assert.deepEqual(actual, expected, `${context}: seat map at model time ${iso(m.now)}`);
  const event = await request(real, 'GET', `/v1/events/${real.eventId}`);
  const counts = { available: 0, held: 0, booked: 0, blocked: 0 };
  for (let seatNo = 0; seatNo < seatCount; seatNo += 1) counts[seatStatus(m, seatNo)] += 1;
  assert.deepEqual(event.body.counts, counts, `${context}: event counts`);
}

// ----------------------------------------------------------------------------- commands

type Command = fc.AsyncCommand<Model, Real, false>;

class Hold implements Command {
  constructor(
    readonly user: User,
    readonly seats: number[],
  ) {}
  check = () => true;
  async run(m: Model, real: Real) {
    const context = note(real, `${this.toString()} at ${iso(m.now)}`);
    const response = await request(real, 'POST', `/v1/events/${real.eventId}/reservations`, this.user, {
      seat_ids: this.seats.map(seatId),
    });
    // Taken seats are refused first (the hold gate knows seats, not users), then the cap.
    const conflicting = this.seats.filter((seatNo) => seatStatus(m, seatNo) !== 'available');
    if (conflicting.length > 0) {
      expectProblem(response, 409, 'SEAT_UNAVAILABLE', context);
      assert.deepEqual(response.body.conflicting_seat_ids, conflicting.map(seatId), context);
      return;
    }
    const owned = heldOrBooked(m, this.user);
    if (owned + this.seats.length > maxSeatsPerUser) {
      expectProblem(response, 409, 'USER_SEAT_LIMIT_EXCEEDED', context);
      assert.equal(response.body.seats_held_or_booked, owned, context);
      assert.equal(response.body.max_seats_per_user, maxSeatsPerUser, context);
      return;
    }
    assert.equal(response.status, 201, `${context}: ${response.raw}`);
    const body = response.body;
    assert.deepEqual(
      { ...body, reservation_id: '' },
      {
        reservation_id: '',
        event_id: real.eventId,
        status: 'active',
        created_at: iso(m.now),
        expires_at: iso(m.now + holdTtlMs),
        seats: seatsView(this.seats),
        total_cents: totalOf(this.seats),
        currency: 'USD',
        booking_id: null,
      },
      context,
    );
    m.reservations.push({
      id: body.reservation_id,
      user: this.user,
      seats: this.seats,
      createdAt: m.now,
      expiresAt: m.now + holdTtlMs,
      status: 'active',
      bookingId: null,
    });
  }
  toString = () => `hold(${this.user}, [${this.seats.map(seatId).join(',')}])`;
}

class Confirm implements Command {
  constructor(
    readonly index: number,
    readonly method: Method,
    readonly byStranger: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.reservations.length > 0;
  async run(m: Model, real: Real) {
    const r = pick(m.reservations, this.index);
    const actor = this.byStranger ? stranger(r.user) : r.user;
    const key = `${real.run}-k${m.nextKey++}`;
    const context = note(
      real,
      `confirm(#${m.reservations.indexOf(r)} of ${r.user} [${visibleStatus(r, m.now)}], by ${actor}, ${this.method}, key ${key})`,
    );
    const response = await request(
      real,
      'POST',
      `/v1/reservations/${r.id}/confirm`,
      actor,
      { payment_method: methods[this.method] },
      { 'idempotency-key': key },
    );
    if (actor !== r.user) {
      expectProblem(response, 404, 'RESERVATION_NOT_FOUND', context);
      return; // refused before the key is claimed: nothing is stored under it
    }
    const status = visibleStatus(r, m.now);
    if (status === 'cancelled') expectProblem(response, 409, 'RESERVATION_CANCELLED', context);
    else if (status === 'confirmed') {
      expectProblem(response, 409, 'RESERVATION_ALREADY_CONFIRMED', context);
      assert.equal(response.body.booking_id, r.bookingId, context);
    } else if (status === 'expired') expectProblem(response, 410, 'RESERVATION_EXPIRED', context);
    else if (this.method === 'declined') {
      expectProblem(response, 402, 'PAYMENT_DECLINED', context);
      assert.equal(response.body.reservation_expires_at, iso(r.expiresAt), context);
    } else {
      assert.equal(response.status, 201, `${context}: ${response.raw}`);
      assert.deepEqual(
        { ...response.body, booking_id: '' },
        {
          booking_id: '',
          reservation_id: r.id,
          event_id: real.eventId,
          status: 'confirmed',
          seats: seatsView(r.seats),
          total_cents: totalOf(r.seats),
          currency: 'USD',
          created_at: iso(m.now),
          refunds: [],
        },
        context,
      );
      r.status = 'confirmed';
      r.bookingId = response.body.booking_id;
    }
    if (response.status !== 201) assert.equal(response.body.replayed, false, context);
    m.keys.push({
      user: r.user,
      key,
      reservation: r,
      method: this.method,
      status: response.status,
      body: response.body,
    });
    // Booked on 201; on 402 the hold is kept; otherwise nothing moved.
    await assertSeatMap(m, real, `${context}, then the seat map`);
  }
  toString = () => `confirm(#${this.index}, ${this.method}${this.byStranger ? ', by a stranger' : ''})`;
}

class Replay implements Command {
  constructor(
    readonly index: number,
    readonly variant: 'same' | 'other-method' | 'other-reservation',
  ) {}
  check = (m: Readonly<Model>) => m.keys.length > 0;
  async run(m: Model, real: Real) {
    const use = pick(m.keys, this.index);
    const others = m.reservations.filter((r) => r.user === use.user && r !== use.reservation);
    const variant = this.variant === 'other-reservation' && others.length === 0 ? 'other-method' : this.variant;
    const reservation = variant === 'other-reservation' ? pick(others, this.index) : use.reservation;
    const method: Method = variant === 'other-method' ? (use.method === 'visa' ? 'declined' : 'visa') : use.method;
    const context = note(
      real,
      `replay(key ${use.key} of ${use.user} [first ${use.status}], ${variant}: #${m.reservations.indexOf(reservation)}, ${method})`,
    );
    const response = await request(
      real,
      'POST',
      `/v1/reservations/${reservation.id}/confirm`,
      use.user,
      { payment_method: methods[method] },
      { 'idempotency-key': use.key },
    );
    if (variant !== 'same') {
      expectProblem(response, 422, 'IDEMPOTENCY_KEY_REUSED', context);
      return;
    }
    assert.equal(response.status, use.status, `${context}: ${response.raw}`);
    if (use.status === 201) {
      assert.deepEqual(response.body, use.body, context);
      assert.equal(response.headers['idempotent-replayed'], 'true', context);
    } else {
      assert.deepEqual(stableProblem(response.body), stableProblem(use.body), context);
      assert.equal(response.body.replayed, true, context);
    }
  }
  toString = () => `replay(key #${this.index}, ${this.variant})`;
}

class Cancel implements Command {
  constructor(
    readonly index: number,
    readonly byStranger: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.reservations.length > 0;
  async run(m: Model, real: Real) {
    const r = pick(m.reservations, this.index);
    const actor = this.byStranger ? stranger(r.user) : r.user;
    const status = visibleStatus(r, m.now);
    const context = note(real, `cancel(#${m.reservations.indexOf(r)} of ${r.user} [${status}], by ${actor})`);
    const response = await request(real, 'DELETE', `/v1/reservations/${r.id}`, actor);
    if (actor !== r.user) return expectProblem(response, 404, 'RESERVATION_NOT_FOUND', context);
    if (status === 'confirmed') {
      expectProblem(response, 409, 'RESERVATION_ALREADY_CONFIRMED', context);
      assert.equal(response.body.booking_id, r.bookingId, context);
      return;
    }
    assert.equal(response.status, 204, `${context}: ${response.raw}`);
    // Cancelling an ended hold (cancelled or expired) is a no-op; a live one ends now.
    if (status === 'active') r.status = 'cancelled';
    // Its seats are free at once, and the reservation reads as the model says.
    await assertSeatMap(m, real, `${context}, then the seat map`);
    const view = await request(real, 'GET', `/v1/reservations/${r.id}`, r.user);
    assert.equal(view.body.status, visibleStatus(r, m.now), `${context}, then GET the reservation: ${view.raw}`);
  }
  toString = () => `cancel(#${this.index}${this.byStranger ? ', by a stranger' : ''})`;
}

class View implements Command {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>) => m.reservations.length > 0;
  async run(m: Model, real: Real) {
    const r = pick(m.reservations, this.index);
    const shown = note(real, `view(#${m.reservations.indexOf(r)} of ${r.user} [${visibleStatus(r, m.now)}])`);
    const response = await request(real, 'GET', `/v1/reservations/${r.id}`, r.user);
    assert.equal(response.status, 200, `${shown}: ${response.raw}`);
    assert.equal(response.body.status, visibleStatus(r, m.now), shown);
    assert.equal(response.body.booking_id, r.bookingId, shown);
    assert.equal(response.body.expires_at, iso(r.expiresAt), shown);
  }
  toString = () => `view(#${this.index})`;
}

type AdvanceSpec =
  { kind: 'random'; ms: number } | { kind: 'to-expiry'; index: number; offset: -1 | 0 | 1; ms: number };

class Advance implements Command {
  constructor(readonly spec: AdvanceSpec) {}
  check = () => true;
  async run(m: Model, real: Real) {
    let delta = this.spec.ms;
    let why = 'random';
    if (this.spec.kind === 'to-expiry' && m.reservations.length > 0) {
      const r = pick(m.reservations, this.spec.index);
      const target = r.expiresAt + this.spec.offset - m.now;
      if (target >= 0 && target <= advanceMaxMs) {
        delta = target;
        why = `to expires_at of #${m.reservations.indexOf(r)}${this.spec.offset ? ` ${this.spec.offset > 0 ? '+' : ''}${this.spec.offset}` : ''}`;
      }
    }
    note(real, `advance(${delta} ms, ${why}) → now ${iso(m.now + delta)}`);
    real.clock.advance(delta);
    m.now += delta;
    assert.equal(real.clock.nowMs(), m.now);
  }
  toString = () => `advance(${JSON.stringify(this.spec)})`;
}

/** The background sweeper's work: clients must see the same whether it ran or not. */
class Sweep implements Command {
  check = () => true;
  async run(m: Model, real: Real) {
    note(real, 'sweep()');
    await expireDueHolds(real.t.runtime.deps, 500);
  }
  toString = () => 'sweep()';
}

class ReadSeatMap implements Command {
  check = () => true;
  async run(m: Model, real: Real) {
    await assertSeatMap(m, real, note(real, 'readSeatMap()'));
  }
  toString = () => 'readSeatMap()';
}

const userArb = fc.constantFrom(...users);
const indexArb = fc.nat({ max: 30 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(userArb, fc.uniqueArray(fc.integer({ min: 0, max: seatCount - 1 }), { minLength: 1, maxLength: 3 }))
      .map(([user, seats]) => new Hold(user, seats)),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(indexArb, fc.constantFrom<Method>('visa', 'visa', 'declined'))
      .map(([index, method]) => new Confirm(index, method, false)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(indexArb, fc.constantFrom<Method>('visa', 'declined'))
      .map(([index, method]) => new Confirm(index, method, true)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        indexArb,
        fc.constantFrom('same' as const, 'same' as const, 'other-method' as const, 'other-reservation' as const),
      )
      .map(([index, variant]) => new Replay(index, variant)),
  },
  { weight: 3, arbitrary: indexArb.map((index) => new Cancel(index, false)) },
  { weight: 1, arbitrary: indexArb.map((index) => new Cancel(index, true)) },
  {
    weight: 4,
    arbitrary: fc.oneof(
      fc.integer({ min: 0, max: advanceMaxMs }).map((ms) => new Advance({ kind: 'random', ms })),
      fc
        .tuple(
          indexArb,
          fc.constantFrom(-1 as const, 0 as const, 1 as const),
          fc.integer({ min: 0, max: advanceMaxMs }),
        )
        .map(([index, offset, ms]) => new Advance({ kind: 'to-expiry', index, offset, ms })),
    ),
  },
  { weight: 1, arbitrary: fc.constant(new Sweep()) },
  { weight: 1, arbitrary: indexArb.map((index) => new View(index)) },
  { weight: 2, arbitrary: fc.constant(new ReadSeatMap()) },
);

// -------------------------------------------------------------------------------- tests

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Date.now() ^ 0;
const path = process.env.FC_PATH;
const replayPath = process.env.FC_REPLAY_PATH;
const numRuns = Number(process.env.FC_RUNS ?? 40);
const maxCommands = 25;

describe('booking model (fast-check)', () => {
  let t: TestApp;
  let clock: ManualClock;
  let tokens: Record<User, string>;

  before(async () => {
    clock = new ManualClock(Date.parse('2027-01-10T15:00:00Z'));
    t = await startTestApp({ clock, env: { HOLD_TTL_SECONDS: String(holdTtlMs / 1000) } });
    tokens = Object.fromEntries(await Promise.all(users.map(async (user) => [user, await t.token(user)]))) as Record<
      User,
      string
    >;
  });
  after(() => t?.close());

  test('when random holds, confirms, replays, cancels, clock moves and sweeps run, then every answer and the seat map match the model', async () => {
    console.log(
      `model test: FC_SEED=${seed}${path ? ` FC_PATH=${path}` : ''}${replayPath ? ` FC_REPLAY_PATH=${replayPath}` : ''} numRuns=${numRuns} maxCommands=${maxCommands} (${process.env.BOXOFFICE_TEST_DB ?? 'pglite'})`,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.commands([commandArb], { maxCommands, size: 'max', ...(replayPath ? { replayPath } : {}) }),
        async (commands) => {
          const eventId = await createEvent(t, eventOverrides, clock.nowMs());
          const model: Model = { now: clock.nowMs(), reservations: [], keys: [], nextKey: 0 };
          const real: Real = { t, clock, eventId, run: randomUUID(), tokens, trace: [] };
          try {
            await fc.asyncModelRun(() => ({ model, real }), commands);
            await assertSeatMap(model, real, 'after the sequence');
            // One kept charge per booked reservation, none for any other, whatever keys were used.
            for (const reservation of model.reservations) {
              const { charged, refunded } = t.payments.chargesDescribing(reservation.id);
              const booked = reservation.status === 'confirmed';
              assert.equal(charged, booked ? 1 : 0, `charges of reservation ${reservation.id} (${reservation.status})`);
              assert.equal(refunded, 0, `refunds of reservation ${reservation.id}`);
            }
            assert.deepEqual(await checkInvariants(t, clock.nowMs()), [], 'checkInvariants');
          } catch (error) {
            if (error instanceof Error) {
              const original = error.message;
              error.message += `\n  executed (event ${eventId}):\n    ${real.trace.join('\n    ')}`;
              if (error.stack) error.stack = error.stack.replace(original, error.message);
            }
            throw error;
          }
        },
      ),
      { seed, numRuns, ...(path ? { path } : {}) },
    );
  });
});
