// After the sale: buyers cancelling under the event's refund policy, organizers refunding,
// refunds the provider refuses (retried with backoff, seen in /metrics), and the durable job
// that ends the holds and refunds every booking of a cancelled event. Freed seats are on sale
// at once, and a refund is never made twice: the money adds up in the ledger and at the
// provider after every test (test/support/money.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { runEventCancellations } from '../../src/app/cancellations.ts';
import { sendDueRefunds, sendRefund } from '../../src/app/payments.ts';
import { testPaymentMethods } from '../../src/adapters/payments/test-payments.ts';
import {
  auth,
  checkInvariants,
  confirmReservation,
  createEvent,
  dayMs,
  holdSeats,
  startTestApp,
  tableCounts,
  type TestApp,
} from '../support/harness.ts';
import { ledgerSnapshot, moneyProblems, snapshotChanges } from '../support/money.ts';
import { sweepOnce } from '../support/sweep.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const hourMs = 3_600_000;
const refundRetryBaseMs = 1_000;
/** eventBody's tiers: section A (s0–s19) at 100.00, section B (s20–s39) at 50.00. */
const frontCents = 10_000;
const backCents = 5_000;

interface Refund {
  refund_id: string;
  amount_cents: number;
  fee_cents: number;
  seat_ids: string[];
  reason: string;
  status: string;
}

describe('cancellations and refunds', () => {
  let t: TestApp;
  let clock: ManualClock;

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({
      clock,
      env: { REFUND_RETRY_BASE_MS: String(refundRetryBaseMs), REFUND_RETRY_MAX_MS: String(60 * refundRetryBaseMs) },
    });
  });
  after(() => t?.close());

  const eventWith = (overrides: Record<string, unknown> = {}) => createEvent(t, overrides, clock.nowMs());
  const buy = async (eventId: string, user: string, seatIds: string[]) => {
    const reservationId = await holdSeats(t, eventId, user, seatIds);
    const response = await confirmReservation(t, user, reservationId, `buy-${reservationId}`);
    assert.equal(response.statusCode, 201, response.body);
    // The provider's webhook for the charge (applied once, changing nothing) is in too.
    await t.payments.webhooksSettled();
    return response.json() as { booking_id: string; total_cents: number; reservation_id: string };
  };
  /** No seat ids: no body at all (the whole booking); `{}` is sent as it is. */
  const cancel = async (user: string, bookingId: string, seatIds?: string[] | Record<string, never>) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${bookingId}/cancel`,
      headers: { ...auth(await t.token(user)), 'idempotency-key': `cancel-${bookingId}-${JSON.stringify(seatIds)}` },
      ...(seatIds === undefined ? {} : { payload: Array.isArray(seatIds) ? { seat_ids: seatIds } : seatIds }),
    });
  const refund = async (organizer: string, bookingId: string, seatIds?: string[]) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${bookingId}/refund`,
      headers: auth(await t.token(organizer, 'organizer')),
      payload: { reason: 'the stage moved', ...(seatIds ? { seat_ids: seatIds } : {}) },
    });
  const bookingOf = async (user: string, bookingId: string) => {
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/bookings/${bookingId}`,
      headers: auth(await t.token(user)),
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json();
  };
  const seatStatuses = async (eventId: string, seatIds: string[]) => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` });
    assert.equal(response.statusCode, 200, response.body);
    const statuses = new Map(
      (response.json().seats as { seat_id: string; status: string }[]).map((seat) => [seat.seat_id, seat.status]),
    );
    return seatIds.map((seatId) => statuses.get(seatId));
  };
  /** The same seats from the compact availability document (2 bits a seat). */
  const availability = async (eventId: string, seatIds: string[]) => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/availability` });
    assert.equal(response.statusCode, 200, response.body);
    const bytes = inflateRawSync(Buffer.from(response.json().data, 'base64'));
    return seatIds.map((seatId) => {
      const seatNo = Number(seatId.slice(1));
      return (['available', 'held', 'booked'] as const)[(bytes[seatNo >> 2]! >> (6 - 2 * (seatNo & 3))) & 3];
    });
  };
  const chargeOf = async (bookingId: string) =>
    (await t.runtime.db.query<{ charge_id: string }>('SELECT charge_id FROM bookings WHERE id = $1', [bookingId]))
      .rows[0]!.charge_id;
  const providerRefunds = async (bookingId: string) => {
    const chargeId = await chargeOf(bookingId);
    return t.payments.refunds().filter((made) => made.payment_intent === chargeId);
  };
  const metric = async (name: string) => {
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(response.body);
    assert.ok(match, `${name} is not published`);
    return Number(match[1]);
  };
  const checkAll = async () => {
    assert.deepEqual(await checkInvariants(t, clock.nowMs()), []);
    assert.deepEqual(await moneyProblems(t, { provider: t.payments, settled: true }), []);
  };
  const assertProblem = (response: { statusCode: number; body: string; json(): any }, status: number, code: string) => {
    assert.equal(response.statusCode, status, response.body);
    assert.equal(response.json().code, code, response.body);
  };

  test('when a buyer cancels some seats, then the rest, then each refund is the price less the fee, the seats are on sale at once, and retries refund nothing more', async () => {
    const eventId = await eventWith({ refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 12.5 } });
    const booking = await buy(eventId, 'ann', ['s0', 's1', 's20']);
    assert.equal(booking.total_cents, 2 * frontCents + backCents);

    const partly = await cancel('ann', booking.booking_id, ['s20', 's0']);
    assert.equal(partly.statusCode, 200, partly.body);
    const afterPart = partly.json();
    assert.equal(afterPart.status, 'partially_cancelled');
    assert.deepEqual(
      afterPart.seats.map((seat: { seat_id: string }) => seat.seat_id),
      ['s1'],
    );
    assert.equal(afterPart.total_cents, booking.total_cents, 'total_cents stays what was paid');
    const [first] = afterPart.refunds as Refund[];
    assert.equal(afterPart.refunds.length, 1);
    // 150.00 of seats, 12.5% kept: 18.75.
    assert.deepEqual(
      { amount: first!.amount_cents, fee: first!.fee_cents, seats: first!.seat_ids, reason: first!.reason },
      { amount: 13_125, fee: 1_875, seats: ['s0', 's20'], reason: 'buyer_cancelled' },
    );
    assert.equal(first!.status, 'succeeded');
    assert.deepEqual(
      (await providerRefunds(booking.booking_id)).map((made) => made.amount),
      [13_125],
    );

    // On sale at once: in the seat list, the compact map, and to the next buyer.
    assert.deepEqual(await seatStatuses(eventId, ['s0', 's1', 's20']), ['available', 'booked', 'available']);
    assert.deepEqual(await availability(eventId, ['s0', 's1', 's20']), ['available', 'booked', 'available']);
    await holdSeats(t, eventId, 'ben', ['s0', 's20']);

    const retried = await cancel('ann', booking.booking_id, ['s20', 's0']);
    assert.equal(retried.statusCode, 200, retried.body);
    assert.deepEqual(retried.json(), afterPart, 'a retry answers the same booking');
    assert.deepEqual(await bookingOf('ann', booking.booking_id), afterPart);
    assert.equal((await providerRefunds(booking.booking_id)).length, 1);

    // A minute later (refunds are listed oldest first), with no body at all: the rest of the booking.
    clock.advance(60_000);
    const whole = await cancel('ann', booking.booking_id);
    assert.equal(whole.statusCode, 200, whole.body);
    assert.equal(whole.json().status, 'cancelled');
    assert.deepEqual(whole.json().seats, []);
    const refunds = whole.json().refunds as Refund[];
    assert.deepEqual(
      refunds.map((made) => [made.amount_cents, made.fee_cents, made.seat_ids]),
      [
        [13_125, 1_875, ['s0', 's20']],
        [8_750, 1_250, ['s1']],
      ],
    );
    assert.deepEqual(await seatStatuses(eventId, ['s1']), ['available']);
    // Again, with an empty object for a body (the web app's way of saying "all of it").
    assert.deepEqual(await cancel('ann', booking.booking_id, {}).then((response) => response.json()), whole.json());
    assert.deepEqual(
      (await providerRefunds(booking.booking_id)).map((made) => made.amount).sort(),
      [13_125, 8_750].sort(),
    );
    await checkAll();
  });

  test('when the fee does not divide evenly, then it is rounded half away from zero on the seats cancelled together; a 100% fee refunds nothing and still frees the seats', async () => {
    const odd = await eventWith({ refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 3.33 } });
    const booking = await buy(odd, 'cal', ['s20', 's21', 's22', 's0']);
    const amounts = async (seatIds: string[]) => {
      const response = await cancel('cal', booking.booking_id, seatIds);
      assert.equal(response.statusCode, 200, response.body);
      const made = (response.json().refunds as Refund[]).find((one) => one.seat_ids.join() === seatIds.join())!;
      return [made.amount_cents, made.fee_cents];
    };
    // 3.33% of 50.00 is 1.665: 1.67 kept.
    assert.deepEqual(await amounts(['s20']), [backCents - 167, 167]);
    // 3.33% of 100.00 is 3.33, whether the 100.00 is two seats or one (not 1.67 + 1.67).
    assert.deepEqual(await amounts(['s21', 's22']), [2 * backCents - 333, 333]);
    assert.deepEqual(await amounts(['s0']), [frontCents - 333, 333]);

    const all = await eventWith({ refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 100 } });
    const kept = await buy(all, 'cal', ['s3']);
    const response = await cancel('cal', kept.booking_id);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().status, 'cancelled');
    assert.deepEqual(response.json().refunds, [], 'nothing is due');
    assert.equal((await providerRefunds(kept.booking_id)).length, 0);
    assert.deepEqual(await seatStatuses(all, ['s3']), ['available']);

    const free = await eventWith({ refund_policy: { buyer_cancel_until_hours: 48 } });
    const whole = await buy(free, 'cal', ['s4']);
    const refunded = (await cancel('cal', whole.booking_id)).json().refunds as Refund[];
    assert.deepEqual(
      refunded.map((made) => [made.amount_cents, made.fee_cents]),
      [[frontCents, 0]],
      'fee_percent defaults to 0',
    );
    await checkAll();
  });

  test('when the seats are not all in the booking, then 409 SEATS_NOT_IN_BOOKING and nothing changes', async () => {
    const eventId = await eventWith({ refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 10 } });
    const mine = await buy(eventId, 'dee', ['s0', 's1']);
    await buy(eventId, 'eli', ['s2']);
    const before = { ledger: await ledgerSnapshot(t), counts: await tableCounts(t) };
    for (const seatIds of [['s5'], ['s0', 's5'], ['s2'], ['s1', 's2']]) {
      assertProblem(await cancel('dee', mine.booking_id, seatIds), 409, 'SEATS_NOT_IN_BOOKING');
    }
    assert.deepEqual(snapshotChanges(before.ledger, await ledgerSnapshot(t)), []);
    assert.deepEqual(await tableCounts(t), before.counts);
    assert.deepEqual(await seatStatuses(eventId, ['s0', 's1', 's2']), ['booked', 'booked', 'booked']);
    await checkAll();
  });

  test('when the event has no refund policy, or the window has closed, then 409 REFUND_WINDOW_CLOSED and nothing changes', async () => {
    const noPolicy = await eventWith();
    const nullPolicy = await eventWith({ refund_policy: null });
    const bookings = [await buy(noPolicy, 'fay', ['s0']), await buy(nullPolicy, 'fay', ['s0'])];
    const startsAtMs = clock.nowMs() + 72 * hourMs;
    const soon = await eventWith({
      starts_at: new Date(startsAtMs).toISOString(),
      refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 0 },
    });
    const late = await buy(soon, 'fay', ['s0', 's1']);
    const before = { ledger: await ledgerSnapshot(t), counts: await tableCounts(t) };
    for (const booking of bookings) {
      assertProblem(await cancel('fay', booking.booking_id), 409, 'REFUND_WINDOW_CLOSED');
    }
    assert.deepEqual(snapshotChanges(before.ledger, await ledgerSnapshot(t)), []);
    assert.deepEqual(await tableCounts(t), before.counts);

    const closesAtMs = startsAtMs - 48 * hourMs;
    clock.set(closesAtMs - 1);
    const lastMoment = await cancel('fay', late.booking_id, ['s1']);
    assert.equal(lastMoment.statusCode, 200, 'a millisecond before the window closes');
    clock.set(closesAtMs);
    const unchanged = await ledgerSnapshot(t);
    const closed = await cancel('fay', late.booking_id, ['s0']);
    assertProblem(closed, 409, 'REFUND_WINDOW_CLOSED');
    assert.equal(closed.json().cancel_until, new Date(closesAtMs).toISOString());
    assert.deepEqual(snapshotChanges(unchanged, await ledgerSnapshot(t)), []);

    // The organizer may still refund, in full, any time (even after the event started).
    clock.set(startsAtMs + hourMs);
    const refunded = await refund('organizer-1', late.booking_id);
    assert.equal(refunded.statusCode, 200, refunded.body);
    assert.equal(refunded.json().status, 'cancelled');
    const organizerRefund = (refunded.json().refunds as Refund[]).find((made) => made.reason === 'organizer')!;
    assert.deepEqual([organizerRefund.amount_cents, organizerRefund.fee_cents], [frontCents, 0]);
    await checkAll();
  });

  test("when someone cancels another buyer's booking, then 404 BOOKING_NOT_FOUND and nothing changes", async () => {
    const eventId = await eventWith({ refund_policy: { buyer_cancel_until_hours: 48 } });
    const booking = await buy(eventId, 'gil', ['s0']);
    const before = await ledgerSnapshot(t);
    assertProblem(await cancel('not-gil', booking.booking_id), 404, 'BOOKING_NOT_FOUND');
    const asOrganizer = await t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${booking.booking_id}/cancel`,
      headers: auth(await t.token('organizer-1', 'organizer')),
    });
    assertProblem(asOrganizer, 404, 'BOOKING_NOT_FOUND');
    assert.deepEqual(snapshotChanges(before, await ledgerSnapshot(t)), []);
    await checkAll();
  });

  test("when the event's organizer refunds a booking, then in full at any time (some seats, then the rest); another organizer gets 404, a buyer 403", async () => {
    const eventId = await eventWith({ refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 50 } });
    const booking = await buy(eventId, 'hal', ['s0', 's20']);
    const before = await ledgerSnapshot(t);
    assertProblem(await refund('organizer-2', booking.booking_id), 404, 'BOOKING_NOT_FOUND');
    const asBuyer = await t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${booking.booking_id}/refund`,
      headers: auth(await t.token('hal')),
      payload: { reason: 'I changed my mind' },
    });
    assert.equal(asBuyer.statusCode, 403, asBuyer.body);
    assert.deepEqual(snapshotChanges(before, await ledgerSnapshot(t)), []);

    const part = await refund('organizer-1', booking.booking_id, ['s20']);
    assert.equal(part.statusCode, 200, part.body);
    assert.equal(part.json().status, 'partially_cancelled');
    assert.deepEqual(
      (part.json().refunds as Refund[]).map((made) => [made.amount_cents, made.fee_cents, made.reason]),
      [[backCents, 0, 'organizer']],
      'the full price: the buyer policy fee does not apply',
    );
    assert.deepEqual(await seatStatuses(eventId, ['s0', 's20']), ['booked', 'available']);
    const rest = await refund('organizer-1', booking.booking_id);
    assert.equal(rest.json().status, 'cancelled');
    assert.deepEqual(await bookingOf('hal', booking.booking_id), rest.json(), 'the buyer sees the same booking');
    const again = await refund('organizer-1', booking.booking_id);
    assert.deepEqual(again.json(), rest.json());
    assert.deepEqual(
      (await providerRefunds(booking.booking_id)).map((made) => made.amount).sort(),
      [backCents, frontCents].sort(),
    );
    await checkAll();
  });

  test('when the provider refuses refunds, then the refund shows failed (and in /metrics), is retried with doubling backoff, succeeds once, and is never made twice', async () => {
    const eventId = await eventWith({ refund_policy: { buyer_cancel_until_hours: 48 } });
    const booking = await buy(eventId, 'ivy', ['s0']);
    const deps = t.runtime.deps;
    t.payments.failRefunds(2);
    const cancelled = await cancel('ivy', booking.booking_id);
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json().status, 'cancelled');
    const [failed] = cancelled.json().refunds as Refund[];
    assert.equal(failed!.status, 'failed');
    assert.deepEqual(await seatStatuses(eventId, ['s0']), ['available'], 'the seats do not wait for the money');
    assert.equal((await bookingOf('ivy', booking.booking_id)).refunds[0].status, 'failed');
    await sweepOnce(t);
    assert.equal(await metric('refunds_failing'), 1);
    assert.equal((await providerRefunds(booking.booking_id)).length, 0);

    const attempts = async () =>
      (
        await t.runtime.db.query<{ attempts: number; status: string }>(
          'SELECT attempts, status FROM refunds WHERE id = $1',
          [failed!.refund_id],
        )
      ).rows[0]!;
    // Not before its backoff (REFUND_RETRY_BASE_MS after the first failure).
    clock.advance(refundRetryBaseMs - 1);
    await sendDueRefunds(deps, 100);
    assert.deepEqual(await attempts(), { attempts: 1, status: 'failed' });
    clock.advance(1);
    await sendDueRefunds(deps, 100);
    assert.deepEqual(await attempts(), { attempts: 2, status: 'failed' }, 'tried again, refused again');
    // The second wait is twice the first.
    clock.advance(2 * refundRetryBaseMs - 1);
    await sweepOnce(t);
    assert.deepEqual(await attempts(), { attempts: 2, status: 'failed' });
    assert.equal(await metric('refunds_failing'), 1);
    clock.advance(1);
    await sweepOnce(t);
    assert.deepEqual(await attempts(), { attempts: 3, status: 'succeeded' });
    assert.equal(await metric('refunds_failing'), 0);
    assert.equal((await bookingOf('ivy', booking.booking_id)).refunds[0].status, 'succeeded');

    // Nothing sends it again: not the job, not a direct send, not the buyer's retry.
    clock.advance(10 * refundRetryBaseMs);
    await sweepOnce(t);
    assert.equal(await sendRefund(deps, failed!.refund_id), null);
    assert.equal((await cancel('ivy', booking.booking_id)).statusCode, 200);
    assert.deepEqual(
      (await providerRefunds(booking.booking_id)).map((made) => made.amount),
      [frontCents],
    );
    await checkAll();
  });

  test('when an event with bookings and live holds is cancelled, then its job ends the holds and refunds every booking once, running → done with the counts', async () => {
    const eventId = await eventWith();
    const deps = t.runtime.deps;
    const organizerGet = async (organizer: string, role: 'organizer' | 'customer' = 'organizer') =>
      t.app.inject({
        method: 'GET',
        url: `/v1/events/${eventId}/cancellation`,
        headers: auth(await t.token(organizer, role)),
      });
    const jay = await buy(eventId, 'jay', ['s0', 's1']);
    const kim = await buy(eventId, 'kim', ['s20']);
    const lee = await buy(eventId, 'lee', ['s2']);
    assert.equal((await refund('organizer-1', lee.booking_id)).statusCode, 200, 'one refunded before the event is off');
    const heldBy = await holdSeats(t, eventId, 'max', ['s3']);
    const paying = await holdSeats(t, eventId, 'ned', ['s4']);
    const pending = await confirmReservation(t, 'ned', paying, 'ned-key', testPaymentMethods.threeDSecure);
    assert.equal(pending.statusCode, 202, pending.body);

    assertProblem(await organizerGet('organizer-1'), 404, 'CANCELLATION_NOT_FOUND');
    const byCustomer = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${eventId}`,
      headers: auth(await t.token('jay')),
      payload: { status: 'cancelled' },
    });
    assert.equal(byCustomer.statusCode, 403, byCustomer.body);
    const cancelled = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${eventId}`,
      headers: auth(await t.token('organizer-1', 'organizer')),
      payload: { status: 'cancelled' },
    });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json().status, 'cancelled');
    assert.equal((await organizerGet('jay', 'customer')).statusCode, 403);
    assertProblem(await organizerGet('organizer-2'), 404, 'EVENT_NOT_FOUND');
    const queued = await organizerGet('organizer-1');
    assert.equal(queued.statusCode, 200, queued.body);
    assert.equal(queued.json().status, 'running');
    assert.equal(queued.json().bookings, null, 'the job has not started');

    t.payments.failRefunds(1);
    assert.ok((await runEventCancellations(deps, 100)) > 0);
    const running = (await organizerGet('organizer-1')).json();
    assert.deepEqual(
      { status: running.status, bookings: running.bookings, refunded: running.refunded, failed: running.failed },
      { status: 'running', bookings: 3, refunded: 2, failed: 1 },
      'one refund refused: the job is not done',
    );
    for (const [user, reservationId] of [
      ['max', heldBy],
      ['ned', paying],
    ] as const) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/reservations/${reservationId}`,
        headers: auth(await t.token(user)),
      });
      assert.equal(response.json().status, 'cancelled', `${user}'s hold ended`);
    }
    assert.deepEqual(await seatStatuses(eventId, ['s0', 's1', 's2', 's3', 's4', 's20']), Array(6).fill('available'));
    // The pending payment's bank says yes after its hold ended: refunded whole, not booked.
    t.payments.complete(pending.json().payment.payment_id, 'succeeded');
    await t.payments.webhooksSettled();
    const ned = t.payments.charges().find((charge) => charge.id === pending.json().payment.payment_id)!;
    assert.equal(ned.amount_refunded, ned.amount_received);

    clock.advance(refundRetryBaseMs);
    await sweepOnce(t);
    const done = (await organizerGet('organizer-1')).json();
    assert.deepEqual(
      { status: done.status, bookings: done.bookings, refunded: done.refunded, failed: done.failed },
      { status: 'done', bookings: 3, refunded: 3, failed: 0 },
    );
    assert.ok(done.finished_at);
    for (const [user, booking] of [
      ['jay', jay],
      ['kim', kim],
    ] as const) {
      const seen = await bookingOf(user, booking.booking_id);
      assert.equal(seen.status, 'cancelled');
      assert.deepEqual(
        (seen.refunds as Refund[]).map((made) => [made.amount_cents, made.reason, made.status]),
        [[booking.total_cents, 'event_cancelled', 'succeeded']],
      );
    }
    const before = t.payments.refunds().length;
    await sweepOnce(t);
    assert.equal(await runEventCancellations(deps, 100), 0, 'a done job has nothing to do');
    assert.equal(t.payments.refunds().length, before, 'nothing refunded twice');
    for (const booking of [jay, kim, lee]) assert.equal((await providerRefunds(booking.booking_id)).length, 1);
    await checkAll();
  });
});
