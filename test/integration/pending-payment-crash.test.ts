// A server process SIGKILLed between the provider's pending answer to a confirmation (the
// buyer's bank asks for 3-D Secure: the PaymentIntent is requires_action) and
// record_pending_payment(), which would have kept the hold alive for its grace and stored the
// 202 under the Idempotency-Key. At that moment the ledger has the attempt's payment row,
// 'started' and without a charge id, the key is in flight under the dead process's lease, and
// the provider has the intent waiting on the bank. Whatever the bank says afterwards, and
// whenever its webhook arrives, the next process (here the test's own runtime, on the same
// schema) ends it with nothing lost, done twice or left half-done:
// - the bank says yes while the hold is live: one booking, with that charge, kept; the key
//   answers that booking (whether the buyer retries before or after the bank's answer);
// - another tab pays once the dead payer's claim is stale, then the bank says yes: the
//   booking keeps the other tab's charge and the 3-D Secure one is refunded once;
// - the bank says no: the hold is released, nothing is booked or charged;
// - the bank never answers: the hold expires, the sweeper voids the intent; a yes that comes
//   after the hold expired is refunded once, by the sweeper or by the webhook, whichever
//   comes first, and nothing is booked.
// - the bank says no and the buyer retries the key: the retry answers the decline (402).
// A todo test records what the crash still costs (no money): a payment whose webhooks are
// all lost is not reconciled while its hold is live.
//
// The provider is the Stripe stand-in (test/support/stripe-stand-in.ts) driven by the
// official SDK in both processes, so its books outlive the killed one. Its webhooks are held
// and delivered by the test at chosen moments. Time: both processes run on the system clock
// plus an offset the test jumps forward (past a hold's expiry, past the stale window of a
// dead process's claims), so nothing here sleeps to make time pass.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { StripePayments } from '../../src/adapters/payments/stripe-payments.ts';
import type { Clock } from '../../src/app/ports/clock.ts';
import {
  auth,
  checkInvariants,
  confirmReservation,
  createEvent,
  holdSeats,
  postgresUrlFor,
  redisUrl,
  startTestApp,
  testDb,
  testSecret,
  type TestApp,
} from '../support/harness.ts';
import { moneyProblems } from '../support/money.ts';
import { type StripeStandIn, startStripeStandIn } from '../support/stripe-stand-in.ts';
import { sweepOnce } from '../support/sweep.ts';

const webhookSecret = 'whsec_pending_payment_crash';
const threeDSecure = 'pm_card_threeDSecure2Required';
const holdTtlSeconds = 600;
const staleMs = 5_000;
const reconcileAfterSeconds = 120;
/** How long the killed process may take to start and reach the provider on a loaded machine. */
const childTimeoutMs = 180_000;

/** The system clock plus a jump the test makes: both processes read the same timeline. */
class JumpingClock implements Clock {
  offsetMs = 0;
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  jump(ms: number): void {
    this.offsetMs += ms;
  }
}

describe(
  'a process killed between a pending charge and its record',
  { skip: testDb !== 'postgres' && 'a second process needs PostgreSQL' },
  () => {
    const clock = new JumpingClock();
    let standIn: StripeStandIn;
    let t: TestApp;
    let eventId: string;

    before(async () => {
      standIn = await startStripeStandIn({ webhookSecret });
      // Held until the test delivers them (deliverWebhooks), so each test picks the order.
      standIn.pauseWebhooks();
      const payments = new StripePayments({
        secretKey: standIn.secretKey,
        webhookSecret,
        apiBase: standIn.url,
        timeoutMs: 30_000,
      });
      t = await startTestApp({
        clock,
        payments,
        env: {
          HOLD_TTL_SECONDS: String(holdTtlSeconds),
          IDEMPOTENCY_IN_FLIGHT_STALE_MS: String(staleMs),
          PAYMENT_RECONCILE_AFTER_SECONDS: String(reconcileAfterSeconds),
        },
      });
      const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
      standIn.setWebhookUrl(`${url}/v1/payments/webhook`);
      eventId = await createEvent(t);
    });
    after(async () => {
      await t?.close();
      await standIn?.close();
    });

    const hold = (user: string, seatId: string) => holdSeats(t, eventId, user, [seatId]);
    const confirm = (user: string, reservationId: string, key: string) =>
      confirmReservation(t, user, reservationId, key, threeDSecure);

    /**
     * Runs the confirm in a server process of its own and SIGKILLs it once the provider has
     * answered with a pending charge, before anything of that answer is written. Returns the
     * provider's payment id the process was told.
     */
    const confirmAndKill = async (user: string, reservationId: string, key: string, paymentMethod = threeDSecure) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'test/support/pending-confirm-and-die.ts',
          user,
          reservationId,
          key,
          paymentMethod,
          String(clock.offsetMs),
        ],
        {
          env: {
            PATH: process.env.PATH ?? '',
            DATABASE_URL: postgresUrlFor(t.schema!),
            REDIS_URL: redisUrl,
            REDIS_KEY_PREFIX: t.config.REDIS_KEY_PREFIX,
            AUTH_SECRET: testSecret,
            PAYMENT_PROVIDER: 'stripe',
            STRIPE_SECRET_KEY: standIn.secretKey,
            STRIPE_WEBHOOK_SECRET: webhookSecret,
            STRIPE_API_BASE: standIn.url,
            PAYMENT_TIMEOUT_MS: '30000',
            HOLD_TTL_SECONDS: String(holdTtlSeconds),
            IDEMPOTENCY_IN_FLIGHT_STALE_MS: String(staleMs),
            LOG_LEVEL: 'silent',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      const exited = once(child, 'exit');
      let timer: NodeJS.Timeout | undefined;
      const chargeId = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk) => {
          output += chunk;
          const pending = /^pending (\S+) (\S+)$/m.exec(output);
          if (pending?.[2] === 'requires_action') resolve(pending[1]!);
          else if (pending) reject(new Error(`the charge is pending as ${pending[2]}, not requires_action`));
        });
        child.stderr.on('data', (chunk) => (output += chunk));
        child.once('exit', (code) =>
          reject(new Error(`the child exited (${code}) before its pending answer:\n${output}`)),
        );
        timer = setTimeout(
          () => reject(new Error(`no pending answer within ${childTimeoutMs / 1000} s:\n${output}`)),
          childTimeoutMs,
        );
      }).finally(() => {
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      const [, signal] = await exited;
      assert.equal(signal, 'SIGKILL');
      return chargeId;
    };

    /** Past the stale window: the dead process's key and payer claims may be taken over. */
    const pastStale = () => clock.jump(staleMs + 1_000);
    /** Past the hold's expiry. */
    const pastExpiry = () => clock.jump(holdTtlSeconds * 1000 + 1_000);

    /**
     * Delivers the provider's held webhooks, in the order asked, and those their handling
     * makes (a refund's event), until none is held; every one must be taken.
     */
    const deliverWebhooks = async (order: 'as made' | 'reversed' = 'as made') => {
      for (let round = 0; round < 5 && standIn.pendingWebhooks().length > 0; round += 1) {
        const seen = standIn.webhookDeliveries.length;
        await standIn.flushWebhooks(order === 'reversed' && round === 0 ? { order: 'reversed' } : {});
        const refused = standIn.webhookDeliveries.slice(seen).filter((delivery) => !delivery.ok);
        assert.deepEqual(refused, [], 'every webhook delivered is taken');
      }
      assert.deepEqual(
        standIn.pendingWebhooks().map((event) => event.type),
        [],
        'no webhook left held',
      );
    };

    const sweep = () => sweepOnce(t);
    /**
     * The sweeper ends due holds, and settles the payments of holds that ended a stale window
     * ago (a payer still at work is not cut short): a sweep, the window, another sweep.
     */
    const sweepAndSettle = async () => {
      await sweep();
      pastStale();
      await sweep();
    };

    /** The provider's payments for this reservation, as its books show them. */
    const atProvider = (reservationId: string) =>
      standIn
        .charges()
        .filter((charge) => charge.metadata.reservation_id === reservationId)
        .map((charge) => ({
          id: charge.id,
          status: charge.status,
          received: charge.amount_received,
          refunded: charge.amount_refunded,
        }));

    const refundsAtProvider = (chargeId: string) =>
      standIn
        .refunds()
        .filter((refund) => refund.payment_intent === chargeId && refund.status !== 'failed')
        .map((refund) => ({ id: refund.id, amount: refund.amount }));

    /** What the ledger says of a reservation: its status, payments, refunds and booking. */
    const ledgerOf = async (reservationId: string) => {
      const { rows } = await t.runtime.db.query<{
        status: string;
        total_cents: number;
        payments: { attempt: number; status: string; charge_id: string | null }[];
        refunds: { amount: number; status: string; reason: string; provider_refund_id: string | null }[];
        bookings: { id: string; charge_id: string }[];
      }>(
        `SELECT r.status, r.total_cents::int AS total_cents,
           coalesce((SELECT jsonb_agg(jsonb_build_object('attempt', p.attempt, 'status', p.status, 'charge_id', p.charge_id)
                                      ORDER BY p.attempt)
                     FROM payments p WHERE p.reservation_id = r.id), '[]') AS payments,
           coalesce((SELECT jsonb_agg(jsonb_build_object('amount', f.amount_cents, 'status', f.status, 'reason', f.reason,
                                                         'provider_refund_id', f.provider_refund_id))
                     FROM refunds f JOIN payments p ON p.id = f.payment_id WHERE p.reservation_id = r.id), '[]') AS refunds,
           coalesce((SELECT jsonb_agg(jsonb_build_object('id', b.id, 'charge_id', b.charge_id))
                     FROM bookings b WHERE b.reservation_id = r.id), '[]') AS bookings
         FROM reservations r WHERE r.id = $1`,
        [reservationId],
      );
      assert.equal(rows.length, 1, `reservation ${reservationId}`);
      return rows[0]!;
    };

    /** The moment of the kill: the attempt begun and unrecorded, the intent waiting on the bank. */
    const assertKilledAtPending = async (user: string, reservationId: string, key: string, chargeId: string) => {
      const { rows } = await t.runtime.db.query<{
        reservation: string;
        paying: boolean;
        payment: string;
        charge_id: string | null;
        pending_until: Date | null;
        key_state: string;
      }>(
        `SELECT r.status AS reservation, r.paying_key IS NOT NULL AS paying, p.status AS payment, p.charge_id,
                p.pending_until, k.state AS key_state
         FROM reservations r
         JOIN payments p ON p.reservation_id = r.id AND p.attempt = r.payment_attempt
         JOIN idempotency_keys k ON k.user_id = $2 AND k.key = $3
         WHERE r.id = $1`,
        [reservationId, user, key],
      );
      assert.deepEqual(rows, [
        {
          reservation: 'active',
          paying: true,
          payment: 'started',
          charge_id: null,
          pending_until: null,
          key_state: 'in_flight',
        },
      ]);
      assert.deepEqual(
        atProvider(reservationId).map(({ id, status, received }) => ({ id, status, received })),
        [{ id: chargeId, status: 'requires_action', received: 0 }],
        'one intent at the provider, waiting on the bank',
      );
    };

    /** Another buyer can hold the seat: it is on sale again (in PostgreSQL and the live map). */
    const assertSeatOnSale = async (seatId: string, buyer: string) => {
      const reservationId = await hold(buyer, seatId);
      const released = await t.app.inject({
        method: 'DELETE',
        url: `/v1/reservations/${reservationId}`,
        headers: auth(await t.token(buyer)),
      });
      assert.equal(released.statusCode, 204, released.body);
    };

    /** Every test ends here: the invariants hold and the money adds up against the provider. */
    const assertAllWell = async () => {
      assert.deepEqual(await checkInvariants(t, clock.nowMs()), []);
      assert.deepEqual(await moneyProblems(t, { provider: standIn, settled: true }), [], 'the money invariant');
      const { rows } = await t.runtime.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM payments WHERE status IN ('started', 'requires_action', 'processing')`,
      );
      assert.equal(rows[0]!.n, 0, 'no payment left open');
    };

    test('when the bank says yes after the kill while the hold is live, then its webhook books once with that charge and a retry of the key answers that booking', async () => {
      const user = 'bank-yes';
      const reservationId = await hold(user, 's0');
      const chargeId = await confirmAndKill(user, reservationId, 'pay');
      await assertKilledAtPending(user, reservationId, 'pay', chargeId);

      // The provider's requires_action reaches the next process; its sweeper leaves the live hold alone.
      await deliverWebhooks();
      pastStale();
      await sweep();
      let ledger = await ledgerOf(reservationId);
      assert.equal(ledger.status, 'active');
      assert.deepEqual(ledger.payments, [{ attempt: 0, status: 'requires_action', charge_id: chargeId }]);
      assert.equal(atProvider(reservationId)[0]!.status, 'requires_action', 'not voided while the hold is live');

      // The buyer completes 3-D Secure at the bank; the webhook books.
      assert.equal(standIn.complete(chargeId, 'succeeded'), 'succeeded');
      await deliverWebhooks();
      ledger = await ledgerOf(reservationId);
      assert.equal(ledger.status, 'confirmed');
      assert.equal(ledger.bookings.length, 1, 'one booking');
      assert.equal(ledger.bookings[0]!.charge_id, chargeId, 'paid by the charge the killed process started');
      assert.deepEqual(ledger.payments, [{ attempt: 0, status: 'succeeded', charge_id: chargeId }]);

      // The buyer's page retries the confirmation it never got an answer to.
      const retried = await confirm(user, reservationId, 'pay');
      assert.equal(retried.statusCode, 201, retried.body);
      assert.equal(retried.json().booking_id, ledger.bookings[0]!.id, 'the retry answers that booking');
      const again = await confirm(user, reservationId, 'pay');
      assert.equal(again.statusCode, 201, again.body);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.deepEqual(again.json(), retried.json(), 'and keeps answering it');

      pastStale();
      await sweep();
      await deliverWebhooks();
      ledger = await ledgerOf(reservationId);
      assert.equal(ledger.bookings.length, 1);
      assert.deepEqual(ledger.refunds, [], 'nothing refunded');
      assert.deepEqual(
        atProvider(reservationId),
        [{ id: chargeId, status: 'succeeded', received: ledger.total_cents, refunded: 0 }],
        'one charge, kept',
      );
      await assertAllWell();
    });

    test("when the buyer's retry comes before the bank's yes, then it answers 202 with the same payment and the webhook books once", async () => {
      const user = 'retry-first';
      const reservationId = await hold(user, 's1');
      const chargeId = await confirmAndKill(user, reservationId, 'pay');
      await assertKilledAtPending(user, reservationId, 'pay', chargeId);

      // The retry takes the dead process's key over and meets the same intent (the provider
      // dedupes by key): the 202 the killed process never stored, with the hold kept.
      pastStale();
      const retried = await confirm(user, reservationId, 'pay');
      assert.equal(retried.statusCode, 202, retried.body);
      assert.equal(retried.json().status, 'payment_pending');
      assert.equal(retried.json().payment.payment_id, chargeId, 'the same payment, not a second one');
      assert.equal(atProvider(reservationId).length, 1, 'one intent at the provider');
      assert.deepEqual((await ledgerOf(reservationId)).payments, [
        { attempt: 0, status: 'requires_action', charge_id: chargeId },
      ]);

      // The bank says yes; its events arrive out of order (the late requires_action is ignored).
      assert.equal(standIn.complete(chargeId, 'succeeded'), 'succeeded');
      await deliverWebhooks('reversed');
      const ledger = await ledgerOf(reservationId);
      assert.equal(ledger.status, 'confirmed');
      assert.deepEqual(ledger.bookings.length, 1, 'one booking');
      assert.equal(ledger.bookings[0]!.charge_id, chargeId);
      assert.deepEqual(ledger.payments, [{ attempt: 0, status: 'succeeded', charge_id: chargeId }]);

      const again = await confirm(user, reservationId, 'pay');
      assert.equal(again.statusCode, 201, again.body);
      assert.equal(again.json().booking_id, ledger.bookings[0]!.id, 'the key answers the booking now');

      pastStale();
      await sweep();
      await deliverWebhooks();
      assert.deepEqual((await ledgerOf(reservationId)).refunds, [], 'nothing refunded');
      assert.deepEqual(atProvider(reservationId), [
        { id: chargeId, status: 'succeeded', received: ledger.total_cents, refunded: 0 },
      ]);
      await assertAllWell();
    });

    test("when another tab pays once the dead process's claim is stale and the bank then says yes, then the booking keeps the other charge and the 3-D Secure one is refunded once", async () => {
      const user = 'two-tabs';
      const reservationId = await hold(user, 's6');
      const chargeId = await confirmAndKill(user, reservationId, 'tab-1');
      await assertKilledAtPending(user, reservationId, 'tab-1', chargeId);
      await deliverWebhooks();

      // No 202 was stored, so the hold was not kept for the pending payment's grace: once
      // the dead payer is stale, another tab (another key) takes the payment over and pays.
      pastStale();
      const other = await confirmReservation(t, user, reservationId, 'tab-2', 'pm_card_visa');
      assert.equal(other.statusCode, 201, other.body);
      await deliverWebhooks();
      let ledger = await ledgerOf(reservationId);
      assert.equal(ledger.bookings.length, 1);
      const bookingCharge = ledger.bookings[0]!.charge_id;
      assert.notEqual(bookingCharge, chargeId, 'booked by the other tab’s charge');

      // The buyer completes 3-D Secure in the first tab: that charge bought nothing.
      assert.equal(standIn.complete(chargeId, 'succeeded'), 'succeeded');
      await deliverWebhooks();
      const retried = await confirm(user, reservationId, 'tab-1');
      assert.equal(retried.statusCode, 409, retried.body);
      await sweepAndSettle();
      await deliverWebhooks();
      ledger = await ledgerOf(reservationId);
      assert.deepEqual(
        ledger.bookings.map((booking) => booking.charge_id),
        [bookingCharge],
        'one booking, with the other tab’s charge',
      );
      assert.deepEqual(ledger.payments, [
        { attempt: 0, status: 'succeeded', charge_id: chargeId },
        { attempt: 1, status: 'succeeded', charge_id: bookingCharge },
      ]);
      assert.deepEqual(
        refundsAtProvider(chargeId).map((refund) => refund.amount),
        [ledger.total_cents],
        'the 3-D Secure charge refunded once, in full',
      );
      assert.deepEqual(refundsAtProvider(bookingCharge), [], 'the booking’s charge kept');
      const replay = await confirmReservation(t, user, reservationId, 'tab-2', 'pm_card_visa');
      assert.deepEqual(replay.json(), other.json(), 'the booking’s key keeps its answer');
      await assertAllWell();
    });

    test('when the bank says no after the kill, then the hold is released and nothing is booked or charged', async () => {
      const user = 'bank-no';
      const reservationId = await hold(user, 's2');
      const chargeId = await confirmAndKill(user, reservationId, 'pay');
      await assertKilledAtPending(user, reservationId, 'pay', chargeId);

      assert.equal(standIn.complete(chargeId, 'failed'), 'requires_payment_method');
      await deliverWebhooks();
      let ledger = await ledgerOf(reservationId);
      assert.equal(ledger.status, 'cancelled', 'the hold waiting on the payment ended');
      assert.deepEqual(ledger.payments, [{ attempt: 0, status: 'failed', charge_id: chargeId }]);
      assert.deepEqual(ledger.bookings, []);
      await assertSeatOnSale('s2', 'after-bank-no');

      // The buyer's retry of the key books nothing and charges nothing. (What it answers is
      // the todo test after this one.)
      pastStale();
      const retried = await confirm(user, reservationId, 'pay');
      assert.ok(retried.statusCode >= 400 && retried.statusCode < 500, `${retried.statusCode} ${retried.body}`);
      pastStale();
      await sweep();
      await deliverWebhooks();
      ledger = await ledgerOf(reservationId);
      assert.deepEqual(ledger.bookings, [], 'nothing booked');
      assert.deepEqual(ledger.refunds, [], 'nothing to refund');
      assert.deepEqual(
        atProvider(reservationId).map(({ id, received, refunded }) => ({ id, received, refunded })),
        [{ id: chargeId, received: 0, refunded: 0 }],
        'no money taken',
      );
      await assertAllWell();
    });

    test("when a payer is killed mid-payment on an event with a limit per card, then the card's pending seats count until the bank answers, and another account's payment with that card goes through once the bank said no", async () => {
      const cardEvent = await createEvent(t, { max_seats_per_card: 1 });
      const card = (method: string) => `${method}.killed-payer-card`;
      const first = await holdSeats(t, cardEvent, 'card-first', ['s0']);
      const chargeId = await confirmAndKill('card-first', first, 'pay', card(threeDSecure));
      const { rows } = await t.runtime.db.query<{ status: string; card_fingerprint: string | null }>(
        'SELECT status, card_fingerprint FROM payments WHERE reservation_id = $1',
        [first],
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.status, 'started', 'killed before the pending answer was written');
      assert.ok(rows[0]!.card_fingerprint, "the payment row names its card from the begin step's commit");

      // Another account, the same card: the killed payer's seat may still be paid for.
      const second = await holdSeats(t, cardEvent, 'card-second', ['s1']);
      const refused = await confirmReservation(t, 'card-second', second, 'pay-1', card('pm_card_visa'));
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().code, 'CARD_LIMIT_REACHED');

      // The bank says no: the dead payer's hold ends, and the card's count with it.
      assert.equal(standIn.complete(chargeId, 'failed'), 'requires_payment_method');
      await deliverWebhooks();
      assert.equal((await ledgerOf(first)).status, 'cancelled');
      const paid = await confirmReservation(t, 'card-second', second, 'pay-2', card('pm_card_visa'));
      assert.equal(paid.statusCode, 201, paid.body);
      pastStale();
      await sweepAndSettle();
      await deliverWebhooks();
      const { rows: booked } = await t.runtime.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM bookings WHERE event_id = $1',
        [cardEvent],
      );
      assert.equal(booked[0]!.n, 1, 'one booking: the second account');
      assert.deepEqual(
        atProvider(first).map(({ received, refunded }) => ({ received, refunded })),
        [{ received: 0, refunded: 0 }],
        'the declined charge took nothing',
      );
      await assertAllWell();
    });

    test('when the bank says no after the kill and the buyer retries the key, then the retry answers the decline (402 PAYMENT_DECLINED) and claims no refund', async () => {
      const user = 'bank-no-answer';
      const reservationId = await hold(user, 's7');
      const chargeId = await confirmAndKill(user, reservationId, 'pay');
      await assertKilledAtPending(user, reservationId, 'pay', chargeId);
      assert.equal(standIn.complete(chargeId, 'failed'), 'requires_payment_method');
      await deliverWebhooks();
      pastStale();
      const retried = await confirm(user, reservationId, 'pay');
      await deliverWebhooks();
      assert.deepEqual(
        atProvider(reservationId).map(({ received, refunded }) => ({ received, refunded })),
        [{ received: 0, refunded: 0 }],
        'nothing was charged',
      );
      assert.equal(retried.statusCode, 402, retried.body);
      assert.equal(retried.json().code, 'PAYMENT_DECLINED', retried.body);
      assert.notEqual(retried.json().refunded, true, 'no refund claimed: nothing was charged');
    });

    test('when the bank never answers and the hold expires, then the sweeper voids the intent, frees the seat and nothing is charged, even by a late yes', async () => {
      const user = 'bank-silent';
      const reservationId = await hold(user, 's3');
      const chargeId = await confirmAndKill(user, reservationId, 'pay');
      await assertKilledAtPending(user, reservationId, 'pay', chargeId);
      await deliverWebhooks();

      pastExpiry();
      await sweepAndSettle();
      await deliverWebhooks(); // payment_intent.canceled
      let ledger = await ledgerOf(reservationId);
      assert.equal(ledger.status, 'expired');
      assert.deepEqual(ledger.payments, [{ attempt: 0, status: 'voided', charge_id: chargeId }]);
      assert.deepEqual(
        atProvider(reservationId),
        [{ id: chargeId, status: 'canceled', received: 0, refunded: 0 }],
        'voided at the provider',
      );
      await assertSeatOnSale('s3', 'after-bank-silent');

      // The buyer finishes 3-D Secure after that: the provider refuses to take the money.
      assert.equal(standIn.complete(chargeId, 'succeeded'), 'canceled');
      assert.deepEqual(standIn.pendingWebhooks(), [], 'no event: nothing happened');
      const retried = await confirm(user, reservationId, 'pay');
      assert.equal(retried.statusCode, 410, retried.body);
      assert.equal(retried.json().code, 'RESERVATION_EXPIRED');
      pastStale();
      await sweep();
      await deliverWebhooks();
      ledger = await ledgerOf(reservationId);
      assert.deepEqual(ledger.bookings, [], 'nothing booked');
      assert.deepEqual(ledger.refunds, [], 'nothing to refund');
      assert.deepEqual(atProvider(reservationId), [{ id: chargeId, status: 'canceled', received: 0, refunded: 0 }]);
      await assertAllWell();
    });

    test("when the bank's yes comes after the hold expired and its webhook after the sweeper, then the sweeper refunds it once and the late webhook changes nothing", async () => {
      const user = 'late-yes-swept';
      const reservationId = await hold(user, 's4');
      const chargeId = await confirmAndKill(user, reservationId, 'pay');
      await assertKilledAtPending(user, reservationId, 'pay', chargeId);

      pastExpiry();
      assert.equal(standIn.complete(chargeId, 'succeeded'), 'succeeded');
      await sweepAndSettle(); // the webhooks are still held
      let ledger = await ledgerOf(reservationId);
      assert.equal(ledger.status, 'expired');
      const made = refundsAtProvider(chargeId);
      assert.deepEqual(
        made.map((refund) => refund.amount),
        [ledger.total_cents],
        'the sweeper refunded the charge in full',
      );

      await deliverWebhooks(); // requires_action, succeeded, refund.created: late
      await sweepAndSettle();
      await deliverWebhooks();
      ledger = await ledgerOf(reservationId);
      assert.deepEqual(ledger.bookings, [], 'nothing booked');
      assert.deepEqual(ledger.payments, [{ attempt: 0, status: 'succeeded', charge_id: chargeId }]);
      assert.deepEqual(
        ledger.refunds,
        [{ amount: ledger.total_cents, status: 'succeeded', reason: 'hold_lost', provider_refund_id: made[0]!.id }],
        'the ledger knows the one refund',
      );
      assert.deepEqual(refundsAtProvider(chargeId), made, 'refunded once');
      assert.deepEqual(atProvider(reservationId), [
        { id: chargeId, status: 'succeeded', received: ledger.total_cents, refunded: ledger.total_cents },
      ]);
      await assertSeatOnSale('s4', 'after-late-yes-swept');
      await assertAllWell();
    });

    test("when the bank's yes comes after the hold expired and its webhook before the sweeper, then the webhook refunds it once and the sweeper adds nothing", async () => {
      const user = 'late-yes-hooked';
      const reservationId = await hold(user, 's5');
      const chargeId = await confirmAndKill(user, reservationId, 'pay');
      await assertKilledAtPending(user, reservationId, 'pay', chargeId);

      pastExpiry();
      assert.equal(standIn.complete(chargeId, 'succeeded'), 'succeeded');
      await deliverWebhooks(); // requires_action, succeeded: the hold is gone, the charge refunded
      let ledger = await ledgerOf(reservationId);
      assert.deepEqual(ledger.bookings, [], 'nothing booked');
      const made = refundsAtProvider(chargeId);
      assert.deepEqual(
        made.map((refund) => refund.amount),
        [ledger.total_cents],
        'the webhook refunded the charge in full',
      );

      await deliverWebhooks(); // refund.created
      await sweepAndSettle();
      await deliverWebhooks();
      ledger = await ledgerOf(reservationId);
      assert.equal(ledger.status, 'expired');
      assert.deepEqual(ledger.bookings, [], 'nothing booked');
      assert.deepEqual(ledger.payments, [{ attempt: 0, status: 'succeeded', charge_id: chargeId }]);
      assert.deepEqual(
        ledger.refunds,
        [{ amount: ledger.total_cents, status: 'succeeded', reason: 'hold_lost', provider_refund_id: made[0]!.id }],
        'the ledger knows the one refund',
      );
      assert.deepEqual(refundsAtProvider(chargeId), made, 'refunded once');
      const retried = await confirm(user, reservationId, 'pay');
      assert.equal(retried.statusCode, 410, retried.body);
      assert.deepEqual(refundsAtProvider(chargeId), made, 'still once after the retry');
      await assertSeatOnSale('s5', 'after-late-yes-hooked');
      await assertAllWell();
    });
    // Last: it leaves the provider's events for its payment undelivered.
    test(
      'when every webhook of the payment is lost and the bank says yes while the hold is live, then reconciliation asks the provider and books it',
      {
        todo:
          'gap: reconciliation (stalePendingPayments) reads only requires_action/processing rows with a charge id; ' +
          "the killed process's 'started' row has none, so no one asks the provider while the hold is live: the " +
          'buyer who paid in time gets no booking, and the charge is refunded only when the hold has expired',
      },
      async () => {
        const user = 'webhooks-lost';
        const reservationId = await hold(user, 's8');
        const chargeId = await confirmAndKill(user, reservationId, 'pay');
        await assertKilledAtPending(user, reservationId, 'pay', chargeId);
        assert.equal(standIn.complete(chargeId, 'succeeded'), 'succeeded');
        // Its events never arrive (held here); the sweeper's reconciliation is all that can notice.
        clock.jump(reconcileAfterSeconds * 1000 + staleMs + 1_000);
        await sweepAndSettle();
        const ledger = await ledgerOf(reservationId);
        assert.equal(ledger.status, 'confirmed', `the hold is live and paid for: ${JSON.stringify(ledger)}`);
        assert.deepEqual(
          ledger.bookings.map((booking) => booking.charge_id),
          [chargeId],
        );
        await deliverWebhooks();
        assert.deepEqual(ledger.refunds, []);
        await assertAllWell();
      },
    );
  },
);
