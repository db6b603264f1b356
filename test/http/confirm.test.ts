// Confirm under pressure: duplicate confirms racing with one key, fencing of a stale
// holder, and a hold that ends while the card is being charged.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { TestPayments } from '../../src/adapters/payments/test-payments.ts';
import type { ChargeRequest } from '../../src/app/ports/payments.ts';
import { auth, checkInvariants, createEvent, startTestApp, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const holdTtlMs = 600_000;

/** Payments that move the clock while charging: the hold can end mid-payment. */
class SlowPayments extends TestPayments {
  constructor(
    private readonly clock: ManualClock,
    public delayMs = 0,
  ) {
    super();
  }
  override async charge(request: ChargeRequest) {
    this.clock.advance(this.delayMs);
    return super.charge(request);
  }
}

const created = (responses: { statusCode: number; json(): { booking_id: string } }[]) =>
  responses.find((response) => response.statusCode === 201)!.json();

describe('confirm races', () => {
  let t: TestApp;
  let clock: ManualClock;
  let payments: SlowPayments;
  let eventId: string;

  before(async () => {
    clock = new ManualClock(startMs);
    payments = new SlowPayments(clock);
    t = await startTestApp({ clock, payments, env: { HOLD_TTL_SECONDS: String(holdTtlMs / 1000) } });
    eventId = await createEvent(t, {}, startMs);
  });
  after(() => t.close());

  const hold = async (token: string, seatIds: string[]) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/reservations`,
      headers: auth(token),
      payload: { seat_ids: seatIds },
    });
  const confirm = (token: string, reservationId: string, key: string, paymentMethod = 'pm_card_visa') =>
    t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${reservationId}/confirm`,
      headers: { ...auth(token), 'idempotency-key': key },
      payload: { payment_method: paymentMethod },
    });
  const bookingsOf = async (reservationId: string) =>
    (await t.runtime.db.query('SELECT id FROM bookings WHERE reservation_id = $1', [reservationId])).rowCount;

  test('when 20 identical confirms race with one key, then one booking, one charge, and the rest replay or see it in flight', async () => {
    const token = await t.token('racer');
    const reservation = (await hold(token, ['s0', 's1'])).json();
    const chargesBefore = payments.chargeCount;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => confirm(token, reservation.reservation_id, 'one-key')),
    );
    const created = responses.filter((response) => response.statusCode === 201);
    const inFlight = responses.filter((response) => response.statusCode === 409);
    assert.equal(created.length + inFlight.length, 20, responses.map((r) => `${r.statusCode} ${r.body}`).join('\n'));
    assert.ok(created.length >= 1);
    for (const response of inFlight) assert.equal(response.json().code, 'IDEMPOTENCY_KEY_IN_FLIGHT');
    const bookingIds = new Set(created.map((response) => response.json().booking_id));
    assert.equal(bookingIds.size, 1, 'every 201 names the same booking');
    assert.equal(await bookingsOf(reservation.reservation_id), 1);
    assert.equal(payments.chargeCount - chargesBefore, 1, 'one charge');
    const replay = await confirm(token, reservation.reservation_id, 'one-key');
    assert.equal(replay.statusCode, 201);
    assert.deepEqual(replay.json(), created[0]!.json());
    const other = await confirm(token, reservation.reservation_id, 'one-key', 'pm_card_chargeDeclined');
    assert.equal(other.statusCode, 422);
  });

  test('when confirms race with different keys, then one booking and one charge: the others wait their turn', async () => {
    const token = await t.token('racer-2');
    const reservation = (await hold(token, ['s2'])).json();
    const chargesBefore = payments.chargeCount;
    const refundsBefore = payments.refundCount;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) => confirm(token, reservation.reservation_id, `key-${index}`)),
    );
    assert.equal(responses.filter((response) => response.statusCode === 201).length, 1);
    for (const response of responses.filter((r) => r.statusCode !== 201)) {
      assert.equal(response.statusCode, 409, response.body);
      assert.ok(['PAYMENT_IN_PROGRESS', 'RESERVATION_ALREADY_CONFIRMED'].includes(response.json().code), response.body);
    }
    assert.equal(await bookingsOf(reservation.reservation_id), 1);
    assert.equal(payments.chargeCount - chargesBefore, 1, 'one charge, not a charge per key');
    assert.equal(payments.refundCount - refundsBefore, 0);
    const later = await confirm(token, reservation.reservation_id, 'key-after');
    assert.equal(later.json().code, 'RESERVATION_ALREADY_CONFIRMED');
    assert.equal(later.json().booking_id, created(responses).booking_id, 'the refusal names the booking');
  });

  test("when A's hold expires and B holds the seat, then A's confirm is 410 and B's succeeds", async () => {
    const alice = await t.token('fence-a');
    const bob = await t.token('fence-b');
    const first = (await hold(alice, ['s5', 's6'])).json();
    clock.advance(holdTtlMs);
    const second = await hold(bob, ['s6']);
    assert.equal(second.statusCode, 201, 'the expired seat is free to hold');
    const stale = await confirm(alice, first.reservation_id, 'stale-a');
    assert.equal(stale.statusCode, 410);
    assert.equal(stale.json().code, 'RESERVATION_EXPIRED');
    const fresh = await confirm(bob, second.json().reservation_id, 'fresh-b');
    assert.equal(fresh.statusCode, 201);
    assert.deepEqual(
      fresh.json().seats.map((seat: { seat_id: string }) => seat.seat_id),
      ['s6'],
    );
    assert.equal(await bookingsOf(first.reservation_id), 0);
    assert.deepEqual(await checkInvariants(t, clock.nowMs()), []);
  });

  test('when the hold ends while the card is charged, then the charge is refunded and the answer is 410', async () => {
    const token = await t.token('slow-payer');
    const reservation = (await hold(token, ['s7'])).json();
    clock.advance(holdTtlMs - 1_000);
    payments.delayMs = 2_000; // the provider takes 2 s; the hold had 1 s left
    const refundsBefore = payments.refundCount;
    try {
      const response = await confirm(token, reservation.reservation_id, 'slow-key');
      assert.equal(response.statusCode, 410, response.body);
      assert.equal(response.json().code, 'RESERVATION_EXPIRED');
      assert.equal(response.json().refunded, true);
    } finally {
      payments.delayMs = 0;
    }
    assert.equal(payments.refundCount - refundsBefore, 1);
    assert.equal(await bookingsOf(reservation.reservation_id), 0);
    const seats = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` })).json().seats;
    assert.equal(seats.find((seat: { seat_id: string }) => seat.seat_id === 's7').status, 'available');
    const replay = await confirm(token, reservation.reservation_id, 'slow-key');
    assert.equal(replay.statusCode, 410, 'the stored answer replays');
    assert.equal(payments.refundCount - refundsBefore, 1, 'and refunds nothing twice');
  });
});
