// Idempotency under failure: a key taken over while its first request still runs, an
// unexpected error after the charge, a process that dies after charging, and provider
// keys that must not collide across users. One booking, one kept charge, every time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { TestPayments } from '../../src/adapters/payments/test-payments.ts';
import { settleRefunds } from '../../src/app/confirm-reservation.ts';
import { sendDueRefunds } from '../../src/app/payments.ts';
import type { ConfirmCommand } from '../../src/app/ports/bookings.ts';
import type { ChargeRequest, RefundRequest } from '../../src/app/ports/payments.ts';
import {
  auth,
  checkInvariants,
  confirmReservation,
  createEvent,
  holdSeats,
  startTestApp,
  type TestApp,
} from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const staleMs = 5_000;

/**
 * Payments whose next charge, once armed, waits for a signal after charging, or before it
 * reaches the provider at all (a slow network, a paused process).
 */
class GatedPayments extends TestPayments {
  private gate: Promise<void> | null = null;
  private gateBefore: Promise<void> | null = null;
  private onParked: () => void = () => {};
  /** Resolves when the armed charge waits at its gate (no guessing with sleeps). */
  parked: Promise<void> = Promise.resolve();
  private armParked() {
    this.parked = new Promise((resolve) => (this.onParked = resolve));
  }
  armAfterCharge(): () => void {
    let open: () => void = () => {};
    this.gate = new Promise((resolve) => (open = resolve));
    this.armParked();
    return () => open();
  }
  armBeforeCharge(): () => void {
    let open: () => void = () => {};
    this.gateBefore = new Promise((resolve) => (open = resolve));
    this.armParked();
    return () => open();
  }
  failNextRefund = false;
  override async refund(request: RefundRequest) {
    if (this.failNextRefund) {
      this.failNextRefund = false;
      throw new Error('provider unavailable');
    }
    return super.refund(request);
  }
  override async charge(request: ChargeRequest) {
    const before = this.gateBefore;
    this.gateBefore = null;
    if (before) {
      this.onParked();
      await before;
    }
    const outcome = await super.charge(request);
    const gate = this.gate;
    this.gate = null;
    if (gate) {
      this.onParked();
      await gate;
    }
    return outcome;
  }
}

describe('idempotency under failure', () => {
  let t: TestApp;
  let clock: ManualClock;
  let payments: GatedPayments;
  let eventId: string;

  before(async () => {
    clock = new ManualClock(startMs);
    payments = new GatedPayments();
    // These races are the payers' own: the provider's webhooks are late (as Stripe's may be
    // by minutes), so only the payers book and refund. test/http/payment-webhooks.test.ts
    // races the webhooks against them.
    payments.pauseWebhooks();
    t = await startTestApp({ clock, payments, env: { IDEMPOTENCY_IN_FLIGHT_STALE_MS: String(staleMs) } });
    eventId = await createEvent(t, {}, startMs);
  });
  after(() => t.close());

  const hold = (user: string, seatIds: string[]) => holdSeats(t, eventId, user, seatIds);
  const confirm = (user: string, reservationId: string, key: string) => confirmReservation(t, user, reservationId, key);
  const bookingsOf = async (reservationId: string) =>
    (
      await t.runtime.db.query<{ charge_id: string }>('SELECT charge_id FROM bookings WHERE reservation_id = $1', [
        reservationId,
      ])
    ).rows;
  const counters = () => ({ charges: payments.chargeCount, refunds: payments.refundCount });

  test('when a slow first request is taken over, then the booking keeps its charge and the slow one backs off', async () => {
    const reservationId = await hold('slow', ['s0']);
    const before = counters();
    const release = payments.armAfterCharge();
    const first = confirm('slow', reservationId, 'slow-key'); // charges, then stalls
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(staleMs + 1); // the first claim now looks abandoned
    const second = await confirm('slow', reservationId, 'slow-key');
    assert.equal(second.statusCode, 201, second.body);
    release();
    const firstAnswer = await first;
    assert.equal(firstAnswer.statusCode, 409, firstAnswer.body);
    assert.equal(firstAnswer.json().code, 'IDEMPOTENCY_KEY_IN_FLIGHT');
    assert.equal((await bookingsOf(reservationId)).length, 1);
    assert.deepEqual(
      counters(),
      { charges: before.charges + 1, refunds: before.refunds },
      'one charge, never refunded',
    );
    const replay = await confirm('slow', reservationId, 'slow-key');
    assert.equal(replay.statusCode, 201);
    assert.deepEqual(replay.json(), second.json());
  });

  test('when booking fails unexpectedly after the charge, then the key keeps its request: same body retries, another body is 422', async () => {
    const first = await hold('unlucky', ['s1']);
    const other = await hold('unlucky', ['s2']);
    const store = t.runtime.deps.bookings;
    const original = store.confirm.bind(store);
    store.confirm = async () => {
      store.confirm = original;
      throw new Error('connection lost mid-transaction');
    };
    const before = counters();
    const failed = await confirm('unlucky', first, 'unlucky-key');
    assert.equal(failed.statusCode, 500);
    const reused = await confirm('unlucky', other, 'unlucky-key');
    assert.equal(reused.statusCode, 422, 'the key still belongs to the first request');
    const retried = await confirm('unlucky', first, 'unlucky-key');
    assert.equal(retried.statusCode, 201, retried.body);
    assert.deepEqual(
      counters(),
      { charges: before.charges + 1, refunds: before.refunds },
      'the retry reused the charge',
    );
    assert.equal((await bookingsOf(other)).length, 0);
  });

  test('when the process died after charging and the hold is gone by the retry, then the retry refunds the charge', async () => {
    const reservationId = await hold('crashed', ['s3']);
    const store = t.runtime.deps.bookings;
    const original = store.confirm.bind(store);
    let crash: (error: Error) => void = () => {};
    store.confirm = (_command: ConfirmCommand) => {
      store.confirm = original;
      return new Promise((_, reject) => (crash = reject)); // the process "dies" here
    };
    const before = counters();
    const dying = confirm('crashed', reservationId, 'crash-key');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(payments.chargeCount, before.charges + 1, 'the card was charged before the crash');
    const cancelled = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${reservationId}`,
      headers: auth(await t.token('crashed')),
    });
    assert.equal(cancelled.statusCode, 204);
    clock.advance(staleMs + 1);
    const retried = await confirm('crashed', reservationId, 'crash-key');
    assert.equal(retried.statusCode, 409, retried.body);
    assert.equal(retried.json().code, 'RESERVATION_CANCELLED');
    assert.equal(retried.json().refunded, true);
    assert.deepEqual(counters(), { charges: before.charges + 1, refunds: before.refunds + 1 });
    crash(new Error('process gone'));
    await dying;
    assert.equal(payments.refundCount, before.refunds + 1, 'nothing refunded twice');
  });

  test("when two users' ids and keys would join to the same text, then each pays its own charge", async () => {
    const a = await hold('alice:x', ['s4']);
    const b = await hold('alice', ['s5']);
    const first = await confirm('alice:x', a, 'k');
    const second = await confirm('alice', b, 'x:k');
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    const [chargeA] = await bookingsOf(a);
    const [chargeB] = await bookingsOf(b);
    assert.notEqual(chargeA!.charge_id, chargeB!.charge_id);
  });

  // What the sweeper does for money: attempts of ended holds voided or refunded, due refunds sent.
  const settle = async () => {
    await settleRefunds(t.runtime.deps, 100);
    await sendDueRefunds(t.runtime.deps, 100);
  };
  const chargesOf = (reservationId: string) => payments.chargesDescribing(reservationId);
  const cancel = async (user: string, reservationId: string) =>
    t.app.inject({ method: 'DELETE', url: `/v1/reservations/${reservationId}`, headers: auth(await t.token(user)) });

  test('when another key pays after the first key failed mid-payment, then it goes on at once with the same charge', async () => {
    const reservationId = await hold('two-keys', ['s6']);
    const store = t.runtime.deps.bookings;
    const original = store.confirm.bind(store);
    store.confirm = async () => {
      store.confirm = original;
      throw new Error('process lost its database connection');
    };
    const first = await confirm('two-keys', reservationId, 'key-a');
    assert.equal(first.statusCode, 500);
    // The failed payer gave its attempt up: the next one continues it, and the provider
    // answers with the charge already made.
    const second = await confirm('two-keys', reservationId, 'key-b');
    assert.equal(second.statusCode, 201, second.body);
    assert.deepEqual(chargesOf(reservationId), { charged: 1, refunded: 0 });
    clock.advance(staleMs + 1);
    await settle();
    assert.deepEqual(chargesOf(reservationId), { charged: 1, refunded: 0 }, 'a booked charge is never settled away');
  });

  const bookedCharge = async (reservationId: string) => {
    const rows = await bookingsOf(reservationId);
    assert.equal(rows.length, 1, 'one booking');
    return rows[0]!.charge_id;
  };

  test('when a slow payer is taken over by another key that books, then the booking keeps its charge and the slow charge is refunded', async () => {
    const reservationId = await hold('two-tabs', ['s11']);
    const release = payments.armAfterCharge();
    const slow = confirm('two-tabs', reservationId, 'tab-1'); // charges, then stalls
    await payments.parked;
    clock.advance(staleMs + 1); // its payment now looks abandoned
    const second = await confirm('two-tabs', reservationId, 'tab-2');
    assert.equal(second.statusCode, 201, second.body);
    release();
    const slowAnswer = await slow;
    assert.equal(slowAnswer.statusCode, 409, slowAnswer.body);
    assert.equal(slowAnswer.json().code, 'RESERVATION_ALREADY_CONFIRMED');
    assert.equal(slowAnswer.json().refunded, true);
    const charge = await bookedCharge(reservationId);
    assert.equal(payments.isRefunded(charge), false, 'the charge that paid for the booking is kept');
    assert.deepEqual(chargesOf(reservationId), { charged: 2, refunded: 1 });
    clock.advance(staleMs + 1);
    await settle();
    assert.deepEqual(chargesOf(reservationId), { charged: 2, refunded: 1 }, 'nothing refunded twice');
    assert.equal(payments.isRefunded(charge), false);
    assert.deepEqual(await checkInvariants(t, clock.nowMs()), []);
  });

  test('when a slow payer answers while the key that took over is still paying, then the slow charge is refunded and the new payer books', async () => {
    const reservationId = await hold('three-tabs', ['s12']);
    const releaseSlow = payments.armAfterCharge();
    const slow = confirm('three-tabs', reservationId, 'tab-a');
    await payments.parked;
    clock.advance(staleMs + 1);
    const releaseNew = payments.armAfterCharge();
    const taker = confirm('three-tabs', reservationId, 'tab-b');
    await payments.parked;
    releaseSlow();
    const slowAnswer = await slow;
    assert.equal(slowAnswer.statusCode, 409, slowAnswer.body);
    assert.equal(slowAnswer.json().code, 'PAYMENT_IN_PROGRESS');
    assert.equal(slowAnswer.json().refunded, true);
    releaseNew();
    const takerAnswer = await taker;
    assert.equal(takerAnswer.statusCode, 201, takerAnswer.body);
    const charge = await bookedCharge(reservationId);
    assert.equal(payments.isRefunded(charge), false);
    assert.deepEqual(chargesOf(reservationId), { charged: 2, refunded: 1 });
    const replay = await confirm('three-tabs', reservationId, 'tab-a');
    assert.equal(replay.json().code, 'PAYMENT_IN_PROGRESS', 'the slow key keeps its answer');
  });

  test('when a payer that was taken over died after charging, then settlement refunds its charge and never the booking', async () => {
    const reservationId = await hold('died-after-charge', ['s13']);
    const store = t.runtime.deps.bookings;
    const original = store.confirm.bind(store);
    let die: (error: Error) => void = () => {};
    let charged: () => void = () => {};
    const chargedNow = new Promise<void>((resolve) => (charged = resolve));
    store.confirm = () => {
      store.confirm = original;
      charged();
      return new Promise((_, reject) => (die = reject)); // the process "dies" right after charging
    };
    const dying = confirm('died-after-charge', reservationId, 'dies');
    await chargedNow;
    clock.advance(staleMs + 1);
    const taker = await confirm('died-after-charge', reservationId, 'survives');
    assert.equal(taker.statusCode, 201, taker.body);
    assert.deepEqual(chargesOf(reservationId), { charged: 2, refunded: 0 });
    clock.advance(staleMs + 1);
    await settle();
    const charge = await bookedCharge(reservationId);
    assert.equal(payments.isRefunded(charge), false);
    assert.deepEqual(chargesOf(reservationId), { charged: 2, refunded: 1 });
    die(new Error('process gone'));
    await dying;
    await settle();
    assert.deepEqual(chargesOf(reservationId), { charged: 2, refunded: 1 });
  });

  test('when the event is cancelled while a confirm is paying, then it books nothing: 409 EVENT_CANCELLED and the charge refunded', async () => {
    const ownEvent = await createEvent(t, {}, startMs);
    const held = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${ownEvent}/reservations`,
      headers: auth(await t.token('late-buyer')),
      payload: { seat_ids: ['s0', 's1'] },
    });
    assert.equal(held.statusCode, 201, held.body);
    const reservationId = held.json().reservation_id as string;
    // The event is read (and cached) before the charge: on sale.
    const release = payments.armAfterCharge();
    const paying = confirm('late-buyer', reservationId, 'late-key');
    await payments.parked;
    const cancelled = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${ownEvent}`,
      headers: auth(await t.token('organizer-1', 'organizer')),
      payload: { status: 'cancelled' },
    });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    release();
    const answer = await paying;
    assert.equal(answer.statusCode, 409, answer.body);
    assert.equal(answer.json().code, 'EVENT_CANCELLED');
    assert.equal(answer.json().refunded, true);
    assert.equal((await bookingsOf(reservationId)).length, 0);
    assert.deepEqual(chargesOf(reservationId), { charged: 1, refunded: 1 });
    const { rows } = await t.runtime.db.query<{ taken: number }>(
      'SELECT count(*)::int AS taken FROM seats WHERE event_id = $1 AND (booking_id IS NOT NULL OR hold_token IS NOT NULL)',
      [ownEvent],
    );
    assert.equal(rows[0]!.taken, 0, 'no seat of the cancelled event is booked or held');
    assert.deepEqual(await checkInvariants(t, clock.nowMs()), []);
  });

  test('when a charge reaches the provider only after its hold ended and was settled, then it is refused and nothing stays charged', async () => {
    const reservationId = await hold('paused', ['s14']);
    const release = payments.armBeforeCharge();
    const store = t.runtime.deps.bookings;
    const original = store.confirm.bind(store);
    store.confirm = async () => {
      store.confirm = original;
      throw new Error('process died before recording the charge');
    };
    const paying = confirm('paused', reservationId, 'paused-key'); // began paying; the charge is on its way
    await payments.parked;
    clock.advance(t.config.HOLD_TTL_SECONDS * 1000 + 1);
    await t.runtime.deps.reservations.expireDue(clock.nowMs(), 100);
    clock.advance(staleMs + 1);
    await settle(); // the ended reservation is settled while its charge is still on the way
    const { rows } = await t.runtime.db.query<{ refunds_settled: boolean }>(
      'SELECT refunds_settled FROM reservations WHERE id = $1',
      [reservationId],
    );
    assert.equal(rows[0]!.refunds_settled, true);
    release(); // the charge arrives now
    const answer = await paying;
    store.confirm = original;
    assert.equal(answer.statusCode, 410, answer.body);
    assert.deepEqual(chargesOf(reservationId), { charged: 0, refunded: 0 }, 'the voided key took no money');
    await settle();
    assert.deepEqual(chargesOf(reservationId), { charged: 0, refunded: 0 });
  });

  test('when a slow charge lands after its key was taken over and the hold ended, then it is refunded once', async () => {
    const reservationId = await hold('slow-and-cancelled', ['s7']);
    const release = payments.armAfterCharge();
    const slow = confirm('slow-and-cancelled', reservationId, 'slow-cancel-key');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await cancel('slow-and-cancelled', reservationId)).statusCode, 204);
    clock.advance(staleMs + 1);
    const retry = await confirm('slow-and-cancelled', reservationId, 'slow-cancel-key');
    assert.equal(retry.statusCode, 409);
    assert.equal(retry.json().code, 'RESERVATION_CANCELLED');
    // The key had begun paying: the retry refunds that attempt by its provider key (the
    // charge is not recorded until the booking step, which never came).
    assert.equal(retry.json().refunded, true);
    assert.deepEqual(chargesOf(reservationId), { charged: 1, refunded: 1 });
    release();
    assert.equal((await slow).statusCode, 409, 'the slow request lost its lease');
    clock.advance(staleMs + 1);
    await settle();
    assert.deepEqual(chargesOf(reservationId), { charged: 1, refunded: 1 }, 'refunded once');
  });

  test('when the inline refund fails, then the refusal is answered and the refund job refunds the charge later, once', async () => {
    const reservationId = await hold('refund-fails', ['s8']);
    const release = payments.armAfterCharge();
    const paying = confirm('refund-fails', reservationId, 'refund-fails-key');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await cancel('refund-fails', reservationId)).statusCode, 204);
    payments.failNextRefund = true;
    release();
    const answered = await paying;
    assert.equal(answered.json().code, 'RESERVATION_CANCELLED', answered.body);
    assert.equal(answered.json().refunded, true, 'the refund is owed (written with the refusal), if not yet made');
    const replay = await confirm('refund-fails', reservationId, 'refund-fails-key');
    assert.equal(replay.json().code, 'RESERVATION_CANCELLED');
    assert.deepEqual(chargesOf(reservationId), { charged: 1, refunded: 0 });
    const { rows } = await t.runtime.db.query<{ status: string; attempts: number }>(
      `SELECT f.status, f.attempts FROM refunds f JOIN payments p ON p.id = f.payment_id WHERE p.reservation_id = $1`,
      [reservationId],
    );
    assert.deepEqual(rows, [{ status: 'failed', attempts: 1 }], 'the failed refund is in the ledger, to retry');
    clock.advance(Math.max(staleMs, t.runtime.deps.settings.refundRetry.baseMs) + 1);
    await settle();
    await settle();
    assert.deepEqual(chargesOf(reservationId), { charged: 1, refunded: 1 });
  });

  test('when a seat of the hold was taken under another token (clock skew), then confirm is 410, refunds, and frees the rest', async () => {
    const reservationId = await hold('skewed', ['s9', 's10']);
    await t.runtime.db.query(
      `UPDATE seats SET hold_token = hold_token + 1000000 WHERE seat_no = 10 AND event_id = $1`,
      [eventId],
    );
    const response = await confirm('skewed', reservationId, 'skewed-key');
    assert.equal(response.statusCode, 410, response.body);
    assert.equal(response.json().refunded, true);
    assert.deepEqual(chargesOf(reservationId), { charged: 1, refunded: 1 });
    const view = await t.app.inject({
      method: 'GET',
      url: `/v1/reservations/${reservationId}`,
      headers: auth(await t.token('skewed')),
    });
    assert.equal(view.json().status, 'expired');
    const again = await confirm('skewed', reservationId, 'skewed-key-2');
    assert.equal(again.statusCode, 410, 'no payment marker left behind');
    const seats = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` })).json().seats;
    assert.equal(seats.find((seat: { seat_id: string }) => seat.seat_id === 's9').status, 'available');
  });
});
