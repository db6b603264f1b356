// The payment provider's webhooks against the whole service, once with the built-in test
// provider (its events delivered in process, its bank played through the demo route) and
// once with PAYMENT_PROVIDER=stripe: the official SDK against the local stand-in of Stripe's
// API, which POSTs its signed events to this server's /v1/payments/webhook over HTTP.
// Forged, duplicated, reordered, late, lost and racing events: every payment books once or
// is refunded once, and the money adds up (test/support/money.ts) on both sides.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { signStripeEvent, type StripeEventEnvelope } from '../../src/adapters/payments/stripe-events.ts';
import { StripePayments, type StripePaymentsOptions } from '../../src/adapters/payments/stripe-payments.ts';
import type { LedgerIntent, SimulatedRefund } from '../../src/adapters/payments/stripe-simulation.ts';
import { TestPayments, testPaymentMethods } from '../../src/adapters/payments/test-payments.ts';
import { reconcilePendingPayments } from '../../src/app/payments.ts';
import type { ChargeOutcome, ChargeRequest } from '../../src/app/ports/payments.ts';
import { createPayments } from '../../src/runtime.ts';
import {
  auth,
  checkInvariants,
  confirmReservation,
  createEvent,
  holdSeats,
  startTestApp,
  tableCounts,
  testConfig,
  type TestApp,
} from '../support/harness.ts';
import { ledgerSnapshot, moneyProblems, snapshotChanges } from '../support/money.ts';
import { startStripeStandIn } from '../support/stripe-stand-in.ts';
import { sweepOnce } from '../support/sweep.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const holdTtlSeconds = 60;
const graceSeconds = 600;
const reconcileAfterSeconds = 120;
const staleMs = 5_000;
const webhookSecret = 'whsec_payment_webhooks_suite';
const env = {
  HOLD_TTL_SECONDS: String(holdTtlSeconds),
  PAYMENT_PENDING_GRACE_SECONDS: String(graceSeconds),
  PAYMENT_RECONCILE_AFTER_SECONDS: String(reconcileAfterSeconds),
  IDEMPOTENCY_IN_FLIGHT_STALE_MS: String(staleMs),
  STRIPE_WEBHOOK_SECRET: webhookSecret,
};
const { succeeds: visa, threeDSecure, processing } = testPaymentMethods;

/** Runs before a charge's answer reaches the service (a test lets the webhook win the race). */
type BeforeAnswer = ((outcome: ChargeOutcome) => Promise<void>) | null;

class HookedTestPayments extends TestPayments {
  beforeAnswer: BeforeAnswer = null;
  override async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    const outcome = await super.charge(request);
    await this.beforeAnswer?.(outcome);
    return outcome;
  }
}

class HookedStripePayments extends StripePayments {
  beforeAnswer: BeforeAnswer = null;
  constructor(options: StripePaymentsOptions) {
    super(options);
  }
  override async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    const outcome = await super.charge(request);
    await this.beforeAnswer?.(outcome);
    return outcome;
  }
}

/** What the test provider and the Stripe stand-in both offer a test. */
interface Controls {
  complete(paymentId: string, outcome: 'succeeded' | 'failed'): unknown;
  pauseWebhooks(): void;
  resumeWebhooks(): Promise<void>;
  pendingWebhooks(): StripeEventEnvelope[];
  flushWebhooks(options?: { order?: 'as-made' | 'reversed'; duplicate?: boolean }): Promise<void>;
  webhooksSettled(): Promise<void>;
  readonly webhookDeliveries: readonly { ok: boolean; type: string; statusCode?: number; error?: string }[];
  charges(): LedgerIntent[];
  refunds(): SimulatedRefund[];
}

interface Subject {
  t: TestApp;
  payments: { beforeAnswer: BeforeAnswer };
  controls: Controls;
  /** The buyer's bank answers a pending payment; its webhooks (unless paused) have been applied on return. */
  bank(paymentId: string, outcome: 'succeeded' | 'failed'): Promise<void>;
  close(): Promise<void>;
}

const providers: { name: string; start(clock: ManualClock): Promise<Subject> }[] = [
  {
    name: 'test provider',
    async start(clock) {
      const payments = new HookedTestPayments({ webhookSecret });
      const t = await startTestApp({ clock, payments, env });
      return {
        t,
        payments,
        controls: payments,
        async bank(paymentId, outcome) {
          // The demo route plays the bank (POST /v1/dev/payments/{id}/complete).
          const response = await t.app.inject({
            method: 'POST',
            url: `/v1/dev/payments/${paymentId}/complete`,
            headers: auth(await t.token('the-bank')),
            payload: { outcome },
          });
          assert.equal(response.statusCode, 200, response.body);
          await payments.webhooksSettled();
        },
        close: () => t.close(),
      };
    },
  },
  {
    name: 'PAYMENT_PROVIDER=stripe: official SDK → stand-in, webhooks over HTTP',
    async start(clock) {
      const standIn = await startStripeStandIn({ webhookSecret });
      const stripeEnv = {
        ...env,
        PAYMENT_PROVIDER: 'stripe',
        STRIPE_SECRET_KEY: standIn.secretKey,
        STRIPE_API_BASE: standIn.url,
      };
      // The provider the configuration names, with a hook on its answers (same options as createPayments).
      const config = testConfig(stripeEnv);
      assert.ok(createPayments(config) instanceof StripePayments);
      const payments = new HookedStripePayments({
        secretKey: config.STRIPE_SECRET_KEY!,
        webhookSecret: config.STRIPE_WEBHOOK_SECRET!,
        apiBase: config.STRIPE_API_BASE,
        timeoutMs: config.PAYMENT_TIMEOUT_MS,
      });
      const t = await startTestApp({ clock, payments, env: stripeEnv });
      // Stripe reaches the webhook over the network: the app listens on a port of its own.
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.server.address() as AddressInfo;
      standIn.setWebhookUrl(`http://127.0.0.1:${port}/v1/payments/webhook`);
      return {
        t,
        payments,
        controls: standIn,
        async bank(paymentId, outcome) {
          standIn.complete(paymentId, outcome);
          await standIn.webhooksSettled();
        },
        async close() {
          await t.close();
          await standIn.close();
        },
      };
    },
  },
];

for (const provider of providers) {
  describe(`payment webhooks (${provider.name})`, () => {
    let s: Subject;
    let t: TestApp;
    let clock: ManualClock;
    let eventId: string;
    let seatsTaken = 0;

    before(async () => {
      clock = new ManualClock(startMs);
      s = await provider.start(clock);
      t = s.t;
      eventId = await createEvent(
        t,
        {
          seat_map: {
            sections: [
              {
                name: 'A',
                price_tier: 'front',
                rows: [
                  { label: '1', seats: 40 },
                  { label: '2', seats: 40 },
                ],
              },
            ],
          },
        },
        startMs,
      );
    });
    after(() => s?.close());

    /** Seats no earlier test has used. */
    const freshSeats = (count: number) => Array.from({ length: count }, () => `s${seatsTaken++}`);
    const hold = (user: string, seatIds: string[]) => holdSeats(t, eventId, user, seatIds);
    const confirm = (user: string, reservationId: string, key: string, paymentMethod: string = visa) =>
      confirmReservation(t, user, reservationId, key, paymentMethod);
    const reservationOf = async (user: string, reservationId: string) => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/reservations/${reservationId}`,
        headers: auth(await t.token(user)),
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    };
    const bookingOf = async (user: string, bookingId: string) => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/bookings/${bookingId}`,
        headers: auth(await t.token(user)),
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    };
    const seatStatuses = async (seatIds: string[]) => {
      const response = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` });
      const statuses = new Map(
        (response.json().seats as { seat_id: string; status: string }[]).map((seat) => [seat.seat_id, seat.status]),
      );
      return seatIds.map((seatId) => statuses.get(seatId));
    };
    const bookingsOf = async (reservationId: string) =>
      (
        await t.runtime.db.query<{ id: string; charge_id: string }>(
          'SELECT id, charge_id FROM bookings WHERE reservation_id = $1',
          [reservationId],
        )
      ).rows;
    const chargesOf = (reservationId: string) =>
      s.controls.charges().filter((charge) => charge.metadata.reservation_id === reservationId);
    const refundsOf = (reservationId: string) => {
      const ids = new Set(chargesOf(reservationId).map((charge) => charge.id));
      return s.controls.refunds().filter((refund) => ids.has(refund.payment_intent));
    };
    const providerEventRows = async (eventIds: string[]) =>
      (
        await t.runtime.db.query<{ id: string }>('SELECT id FROM provider_events WHERE id = ANY($1) ORDER BY id', [
          eventIds,
        ])
      ).rows.map((row) => row.id);
    /** The payment events held back for this payment (webhooks paused). */
    const heldEvent = (type: string, paymentId: string) => {
      const event = s.controls
        .pendingWebhooks()
        .find((held) => held.type === type && (held.data.object as { id?: string }).id === paymentId);
      assert.ok(event, `no ${type} event held for ${paymentId}`);
      return event;
    };
    const postWebhook = (payload: string, signature: string | undefined) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/payments/webhook',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          ...(signature === undefined ? {} : { 'stripe-signature': signature }),
        },
        payload,
      });
    /** Invariants and money, with every refund made and the provider agreeing. */
    const checkAll = async () => {
      assert.deepEqual(await checkInvariants(t, clock.nowMs()), []);
      assert.deepEqual(await moneyProblems(t, { provider: s.controls, settled: true }), []);
    };
    const pending = async (user: string, reservationId: string, key: string, paymentMethod: string = threeDSecure) => {
      const response = await confirm(user, reservationId, key, paymentMethod);
      assert.equal(response.statusCode, 202, response.body);
      return response.json() as {
        reservation_id: string;
        status: string;
        expires_at: string;
        payment: { payment_id: string; status: string; client_secret?: string; next_action?: { url: string } };
      };
    };

    test('when a webhook is signed with another secret, changed after signing, unsigned or too old, then 400 WEBHOOK_SIGNATURE_INVALID and nothing changes', async () => {
      const user = 'forged-for';
      const reservationId = await hold(user, freshSeats(1));
      s.controls.pauseWebhooks();
      try {
        const answer = await pending(user, reservationId, 'forged-key');
        const paymentId = answer.payment.payment_id;
        await s.bank(paymentId, 'succeeded');
        const event = heldEvent('payment_intent.succeeded', paymentId);
        const other = heldEvent('payment_intent.requires_action', paymentId);
        const payload = JSON.stringify(event);
        const nowSeconds = Math.floor(Date.now() / 1000);
        const sign = (body: string, secret = webhookSecret, timestamp?: number) =>
          Stripe.webhooks.generateTestHeaderString({ payload: body, secret, ...(timestamp ? { timestamp } : {}) });
        const object = event.data.object as unknown as { metadata: Record<string, string> };
        const tampered = JSON.stringify({
          ...event,
          data: { object: { ...object, metadata: { ...object.metadata, attempt: '7' } } },
        });
        const forgeries: [string, string, string | undefined][] = [
          ['signed with another secret', payload, sign(payload, 'whsec_not_this_endpoints')],
          ['a body changed after it was signed', tampered, sign(payload)],
          ['the signature of another event', payload, sign(JSON.stringify(other))],
          ['no Stripe-Signature header', payload, undefined],
          ['an empty Stripe-Signature header', payload, ''],
          ['a timestamp and no v1 signature', payload, `t=${nowSeconds}`],
          ['only a v0 signature', payload, sign(payload).replace('v1=', 'v0=')],
          ['a garbage header', payload, 'garbage'],
          [
            'a signature made an hour ago (a captured delivery replayed)',
            payload,
            sign(payload, webhookSecret, nowSeconds - 3600),
          ],
        ];
        const before = { ledger: await ledgerSnapshot(t), counts: await tableCounts(t), charges: s.controls.charges() };
        for (const [name, body, signature] of forgeries) {
          const response = await postWebhook(body, signature);
          assert.equal(response.statusCode, 400, `${name}: ${response.body}`);
          assert.match(String(response.headers['content-type']), /^application\/problem\+json/, name);
          assert.equal(response.json().code, 'WEBHOOK_SIGNATURE_INVALID', name);
          assert.equal(response.json().status, 400, name);
        }
        assert.deepEqual(
          snapshotChanges(before.ledger, await ledgerSnapshot(t)),
          [],
          'a refused webhook changed these',
        );
        assert.deepEqual(await tableCounts(t), before.counts);
        assert.deepEqual(s.controls.charges(), before.charges);
        const held = await reservationOf(user, reservationId);
        assert.equal(held.status, 'active');
        assert.equal(held.payment_status, 'requires_action');
      } finally {
        await s.controls.resumeWebhooks();
      }
      // The refusals did not use the event up: the real delivery books.
      const booked = await reservationOf(user, reservationId);
      assert.equal(booked.status, 'confirmed');
      assert.equal(booked.payment_status, 'succeeded');
      assert.equal((await bookingsOf(reservationId)).length, 1);
      await checkAll();
    });

    test('when the same event is delivered twice (and the provider redelivers everything), then it is applied once', async () => {
      const user = 'twice';
      const reservationId = await hold(user, freshSeats(1));
      s.controls.pauseWebhooks();
      let eventId = '';
      try {
        const answer = await pending(user, reservationId, 'twice-key');
        const paymentId = answer.payment.payment_id;
        await s.bank(paymentId, 'succeeded');
        const event = heldEvent('payment_intent.succeeded', paymentId);
        eventId = event.id;
        const first = signStripeEvent(Stripe, event, webhookSecret);
        const applied = await postWebhook(first.payload, first.signature);
        assert.equal(applied.statusCode, 200, applied.body);
        assert.deepEqual(applied.json(), { received: true, result: 'booked' });
        const charges = s.controls.charges();
        const refunds = s.controls.refunds();
        // The very same bytes again, then signed afresh (as Stripe signs each attempt).
        const again = await postWebhook(first.payload, first.signature);
        assert.deepEqual(again.json(), { received: true, result: 'duplicate' });
        const resigned = signStripeEvent(Stripe, event, webhookSecret);
        const third = await postWebhook(resigned.payload, resigned.signature);
        assert.deepEqual(third.json(), { received: true, result: 'duplicate' });
        // And the provider's own deliveries of every held event, twice each.
        await s.controls.flushWebhooks({ duplicate: true });
        assert.deepEqual(s.controls.charges(), charges, 'the provider was asked for nothing more');
        assert.deepEqual(s.controls.refunds(), refunds);
      } finally {
        await s.controls.resumeWebhooks();
      }
      assert.equal((await bookingsOf(reservationId)).length, 1);
      assert.deepEqual(await providerEventRows([eventId]), [eventId], 'provider_events has the event once');
      assert.equal(refundsOf(reservationId).length, 0);
      const retry = await confirm(user, reservationId, 'twice-key', threeDSecure);
      assert.equal(retry.statusCode, 201, retry.body);
      assert.equal(retry.json().booking_id, (await bookingsOf(reservationId))[0]!.id);
      await checkAll();
    });

    test('when the bank asks for 3-D Secure, then 202 keeps the hold past its expiry until the grace, and the approval webhook books it', async () => {
      const user = 'three-d-yes';
      const seatIds = freshSeats(2);
      const reservationId = await hold(user, seatIds);
      const confirmedAtMs = clock.nowMs();
      const answer = await pending(user, reservationId, 'three-d-yes-key');
      assert.equal(answer.status, 'payment_pending');
      assert.equal(answer.reservation_id, reservationId);
      assert.equal(answer.payment.status, 'requires_action');
      assert.ok(answer.payment.client_secret, 'the buyer page needs the client secret');
      assert.ok(answer.payment.next_action?.url, "the bank's page");
      assert.equal(answer.expires_at, new Date(confirmedAtMs + graceSeconds * 1000).toISOString());
      const held = await reservationOf(user, reservationId);
      assert.equal(held.status, 'active');
      assert.equal(held.payment_status, 'requires_action');
      assert.equal(held.expires_at, answer.expires_at, 'the hold is kept until the grace');

      // Past the hold's own expiry, within the grace: still held, the sweeper leaves it.
      clock.advance(holdTtlSeconds * 1000 + 1_000);
      await sweepOnce(t);
      assert.equal((await reservationOf(user, reservationId)).status, 'active');
      assert.deepEqual(await seatStatuses(seatIds), ['held', 'held']);
      const other = await t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/reservations`,
        headers: auth(await t.token('three-d-yes-rival')),
        payload: { seat_ids: seatIds },
      });
      assert.equal(other.statusCode, 409, other.body);
      assert.equal(other.json().code, 'SEAT_UNAVAILABLE');

      await s.bank(answer.payment.payment_id, 'succeeded');
      const booked = await reservationOf(user, reservationId);
      assert.equal(booked.status, 'confirmed');
      assert.equal(booked.payment_status, 'succeeded');
      assert.ok(booked.booking_id);
      assert.deepEqual(await seatStatuses(seatIds), ['booked', 'booked']);
      const retry = await confirm(user, reservationId, 'three-d-yes-key', threeDSecure);
      assert.equal(retry.statusCode, 201, retry.body);
      assert.equal(retry.json().booking_id, booked.booking_id);
      assert.deepEqual(retry.json(), await bookingOf(user, booked.booking_id));
      assert.equal(chargesOf(reservationId).filter((charge) => charge.status === 'succeeded').length, 1);
      assert.equal(refundsOf(reservationId).length, 0);
      await checkAll();
    });

    test('when the bank declines the 3-D Secure step, then the hold is released, the seats are on sale, and a retry is 402', async () => {
      const user = 'three-d-no';
      const seatIds = freshSeats(1);
      const reservationId = await hold(user, seatIds);
      const answer = await pending(user, reservationId, 'three-d-no-key');
      await s.bank(answer.payment.payment_id, 'failed');
      const released = await reservationOf(user, reservationId);
      assert.equal(released.status, 'cancelled');
      assert.equal(released.payment_status, 'failed');
      assert.equal(released.booking_id, null);
      assert.deepEqual(await seatStatuses(seatIds), ['available']);
      await hold('three-d-no-next-buyer', seatIds);
      const retry = await confirm(user, reservationId, 'three-d-no-key', threeDSecure);
      assert.equal(retry.statusCode, 402, retry.body);
      assert.equal(retry.json().code, 'PAYMENT_DECLINED');
      assert.equal((await bookingsOf(reservationId)).length, 0);
      assert.equal(refundsOf(reservationId).length, 0, 'nothing was charged');
      await checkAll();
    });

    test('when the payment succeeds after its hold lapsed (past the grace, swept, seats sold on), then it is refunded exactly once and books nothing', async () => {
      const user = 'too-late';
      const seatIds = freshSeats(1);
      const reservationId = await hold(user, seatIds);
      const answer = await pending(user, reservationId, 'too-late-key');
      clock.advance(graceSeconds * 1000 + 1_000);
      await sweepOnce(t);
      assert.equal((await reservationOf(user, reservationId)).status, 'expired');
      assert.deepEqual(await seatStatuses(seatIds), ['available']);
      const nextBuyer = await hold('too-late-next-buyer', seatIds);

      s.controls.pauseWebhooks();
      try {
        await s.bank(answer.payment.payment_id, 'succeeded');
        await s.controls.flushWebhooks({ duplicate: true });
      } finally {
        await s.controls.resumeWebhooks();
      }
      assert.equal((await bookingsOf(reservationId)).length, 0);
      assert.equal((await reservationOf('too-late-next-buyer', nextBuyer)).status, 'active', 'the new hold stands');
      assert.deepEqual(await seatStatuses(seatIds), ['held']);
      const [charge] = chargesOf(reservationId);
      assert.equal(charge?.status, 'succeeded');
      assert.equal(charge?.amount_refunded, charge?.amount_received, 'refunded in full');
      assert.equal(refundsOf(reservationId).length, 1);
      const retry = await confirm(user, reservationId, 'too-late-key', threeDSecure);
      assert.equal(retry.statusCode, 410, retry.body);
      assert.equal(retry.json().code, 'RESERVATION_EXPIRED');
      assert.equal(retry.json().refunded, true);

      // The settlement of ended reservations later finds it refunded already.
      clock.advance(staleMs + 1_000);
      await sweepOnce(t);
      await sweepOnce(t);
      assert.equal(refundsOf(reservationId).length, 1, 'refunded once');
      await checkAll();
    });

    test('when events arrive reversed and twice each, then the end state is the one in order', async () => {
      const approved = await hold('order-approved', freshSeats(1));
      const declinedSeats = freshSeats(1);
      const declined = await hold('order-declined', declinedSeats);
      const slow = await hold('order-processing', freshSeats(1));
      s.controls.pauseWebhooks();
      let held: StripeEventEnvelope[] = [];
      try {
        const a = await pending('order-approved', approved, 'order-a');
        const b = await pending('order-declined', declined, 'order-b');
        const c = await pending('order-processing', slow, 'order-c', processing);
        assert.equal(c.payment.status, 'processing');
        await s.bank(a.payment.payment_id, 'succeeded');
        await s.bank(b.payment.payment_id, 'failed');
        await s.bank(c.payment.payment_id, 'succeeded');
        held = s.controls.pendingWebhooks().filter((event) => event.type.startsWith('payment_intent.'));
        assert.ok(held.length >= 6, `the pending and final events of three payments: ${held.length}`);
        await s.controls.flushWebhooks({ order: 'reversed', duplicate: true });
      } finally {
        await s.controls.resumeWebhooks();
      }
      for (const [user, reservationId, key, paymentMethod] of [
        ['order-approved', approved, 'order-a', threeDSecure],
        ['order-processing', slow, 'order-c', processing],
      ] as const) {
        const reservation = await reservationOf(user, reservationId);
        assert.equal(reservation.status, 'confirmed', user);
        assert.equal(reservation.payment_status, 'succeeded', user);
        assert.equal((await bookingsOf(reservationId)).length, 1, user);
        const retry = await confirm(user, reservationId, key, paymentMethod);
        assert.equal(retry.statusCode, 201, retry.body);
      }
      const released = await reservationOf('order-declined', declined);
      assert.equal(released.status, 'cancelled');
      assert.equal(released.payment_status, 'failed');
      assert.deepEqual(await seatStatuses(declinedSeats), ['available']);
      assert.equal((await confirm('order-declined', declined, 'order-b', threeDSecure)).statusCode, 402);
      const ids = [...new Set(held.map((event) => event.id))].sort();
      assert.deepEqual(await providerEventRows(ids), ids, 'every payment event recorded once');
      for (const reservationId of [approved, declined, slow]) assert.equal(refundsOf(reservationId).length, 0);
      await checkAll();
    });

    test('when the success webhook is applied before the synchronous answer is recorded, then one booking, 201, no refund', async () => {
      const user = 'webhook-first';
      const reservationId = await hold(user, freshSeats(2));
      let bookedBeforeAnswer = -1;
      s.payments.beforeAnswer = async () => {
        await s.controls.webhooksSettled();
        bookedBeforeAnswer = (await bookingsOf(reservationId)).length;
      };
      let response;
      try {
        response = await confirm(user, reservationId, 'webhook-first-key');
      } finally {
        s.payments.beforeAnswer = null;
      }
      assert.equal(bookedBeforeAnswer, 1, 'the webhook booked before the answer came back');
      assert.equal(response.statusCode, 201, response.body);
      const bookings = await bookingsOf(reservationId);
      assert.equal(bookings.length, 1);
      assert.equal(response.json().booking_id, bookings[0]!.id);
      assert.deepEqual(response.json(), await bookingOf(user, bookings[0]!.id));
      const retry = await confirm(user, reservationId, 'webhook-first-key');
      assert.equal(retry.statusCode, 201);
      assert.deepEqual(retry.json(), response.json());
      assert.equal(chargesOf(reservationId).length, 1);
      assert.equal(refundsOf(reservationId).length, 0);
      await checkAll();
    });

    test("when the success webhook books first and its live-map update has not landed, then the confirm's 201 has put the booked seats on the map", async () => {
      const user = 'webhook-first-map';
      const seatIds = freshSeats(2);
      const reservationId = await hold(user, seatIds);
      const board = t.runtime.deps.board;
      const apply = board.apply.bind(board);
      s.payments.beforeAnswer = async () => {
        // The webhook's process books and then stalls before its map update (it may be
        // another process, or a slow Redis): only the confirm's own update can land.
        board.apply = async () => {};
        try {
          await s.controls.webhooksSettled();
        } finally {
          board.apply = apply;
        }
      };
      let response;
      try {
        response = await confirm(user, reservationId, 'webhook-first-map-key');
      } finally {
        s.payments.beforeAnswer = null;
      }
      assert.equal(response.statusCode, 201, response.body);
      assert.equal((await bookingsOf(reservationId)).length, 1);
      assert.deepEqual(await seatStatuses(seatIds), ['booked', 'booked'], 'the map says booked when the buyer is told');
      await checkAll();
    });

    test('when a declined card’s webhook is applied before the synchronous decline, then 402 and the hold is kept for another card', async () => {
      const user = 'declined-webhook-first';
      const seatIds = freshSeats(1);
      const reservationId = await hold(user, seatIds);
      let paymentBeforeAnswer: string | undefined;
      s.payments.beforeAnswer = async (outcome) => {
        if (outcome.kind !== 'declined') return;
        await s.controls.webhooksSettled();
        const { rows } = await t.runtime.db.query<{ status: string }>(
          'SELECT status FROM payments WHERE reservation_id = $1',
          [reservationId],
        );
        paymentBeforeAnswer = rows[0]?.status;
      };
      let response;
      try {
        response = await confirm(user, reservationId, 'declined-webhook-first-key', testPaymentMethods.declined);
      } finally {
        s.payments.beforeAnswer = null;
      }
      assert.equal(paymentBeforeAnswer, 'failed', 'the failure webhook was applied before the answer');
      assert.equal(response.statusCode, 402, response.body);
      assert.equal(response.json().code, 'PAYMENT_DECLINED');
      const kept = await reservationOf(user, reservationId);
      assert.equal(kept.status, 'active', 'the hold is kept, as the 402 says');
      assert.deepEqual(await seatStatuses(seatIds), ['held']);
      const paid = await confirm(user, reservationId, 'declined-webhook-first-retry');
      assert.equal(paid.statusCode, 201, paid.body);
      assert.equal(refundsOf(reservationId).length, 0);
      await checkAll();
    });

    test('when the bank approves 3-D Secure and its webhook books before the 202 is recorded, then the answer is 201 with that booking', async () => {
      const user = 'bank-first';
      const reservationId = await hold(user, freshSeats(1));
      s.payments.beforeAnswer = async (outcome) => {
        if (outcome.kind !== 'pending') return;
        s.controls.complete(outcome.chargeId, 'succeeded');
        await s.controls.webhooksSettled();
      };
      let response;
      try {
        response = await confirm(user, reservationId, 'bank-first-key', threeDSecure);
      } finally {
        s.payments.beforeAnswer = null;
      }
      assert.equal(response.statusCode, 201, response.body);
      const bookings = await bookingsOf(reservationId);
      assert.equal(bookings.length, 1);
      assert.equal(response.json().booking_id, bookings[0]!.id);
      const retry = await confirm(user, reservationId, 'bank-first-key', threeDSecure);
      assert.equal(retry.statusCode, 201, retry.body);
      assert.equal(retry.json().booking_id, bookings[0]!.id);
      assert.equal(refundsOf(reservationId).length, 0);
      await checkAll();
    });

    test('when webhooks race the synchronous answers of eight confirms, then every confirm is 201 with one booking and no refund', async () => {
      const buyers = await Promise.all(
        Array.from({ length: 8 }, async (_, index) => {
          const user = `racing-${index}`;
          return { user, reservationId: await hold(user, freshSeats(1)) };
        }),
      );
      const answers = await Promise.all(
        buyers.map(({ user, reservationId }) => confirm(user, reservationId, `${user}-key`)),
      );
      await s.controls.webhooksSettled();
      for (const [index, answer] of answers.entries()) {
        const { reservationId } = buyers[index]!;
        assert.equal(answer.statusCode, 201, answer.body);
        const bookings = await bookingsOf(reservationId);
        assert.equal(bookings.length, 1);
        assert.equal(answer.json().booking_id, bookings[0]!.id);
        assert.equal(refundsOf(reservationId).length, 0);
      }
      await checkAll();
    });

    test('when the webhooks are lost, then reconciliation asks the provider after PAYMENT_RECONCILE_AFTER_SECONDS and settles, and late deliveries change nothing', async () => {
      const approvedSeats = freshSeats(1);
      const declinedSeats = freshSeats(1);
      const approved = await hold('lost-approved', approvedSeats);
      const declined = await hold('lost-declined', declinedSeats);
      const open = await hold('lost-open', freshSeats(1));
      const deps = t.runtime.deps;
      assert.equal(deps.settings.reconcileAfterMs, reconcileAfterSeconds * 1000);
      s.controls.pauseWebhooks();
      let openPayment = '';
      let settled: Awaited<ReturnType<typeof ledgerSnapshot>>;
      try {
        const a = await pending('lost-approved', approved, 'lost-a');
        const b = await pending('lost-declined', declined, 'lost-b');
        openPayment = (await pending('lost-open', open, 'lost-c')).payment.payment_id;
        await s.bank(a.payment.payment_id, 'succeeded');
        await s.bank(b.payment.payment_id, 'failed');

        // Within the quiet period nothing is asked.
        clock.advance(reconcileAfterSeconds * 1000 - 1_000);
        assert.equal(await reconcilePendingPayments(deps, deps.settings.reconcileAfterMs, 100), 0);
        assert.equal((await reservationOf('lost-approved', approved)).status, 'active');

        clock.advance(2_000);
        assert.equal(await reconcilePendingPayments(deps, deps.settings.reconcileAfterMs, 100), 2);
        const booked = await reservationOf('lost-approved', approved);
        assert.equal(booked.status, 'confirmed');
        assert.equal(booked.payment_status, 'succeeded');
        const released = await reservationOf('lost-declined', declined);
        assert.equal(released.status, 'cancelled');
        assert.equal(released.payment_status, 'failed');
        assert.deepEqual(await seatStatuses([...approvedSeats, ...declinedSeats]), ['booked', 'available']);
        const still = await reservationOf('lost-open', open);
        assert.equal(still.status, 'active');
        assert.equal(still.payment_status, 'requires_action');
        // Read again only after another quiet period.
        assert.equal(await reconcilePendingPayments(deps, deps.settings.reconcileAfterMs, 100), 0);
        settled = await ledgerSnapshot(t);
      } finally {
        // The lost events turn up after all.
        await s.controls.resumeWebhooks();
      }
      const late = await ledgerSnapshot(t);
      for (const table of ['bookings', 'booked_seats', 'reservations', 'seats', 'refunds'] as const) {
        assert.equal(late[table], settled[table], `a late webhook changed ${table}`);
      }
      assert.equal((await confirm('lost-approved', approved, 'lost-a', threeDSecure)).statusCode, 201);
      assert.equal((await confirm('lost-declined', declined, 'lost-b', threeDSecure)).statusCode, 402);

      await s.bank(openPayment, 'succeeded');
      assert.equal((await reservationOf('lost-open', open)).status, 'confirmed');
      for (const reservationId of [approved, declined, open]) assert.equal(refundsOf(reservationId).length, 0);
      await checkAll();
    });

    test('when the payment is still processing (pm_card_processing), then 202 processing, and its completion books it', async () => {
      const user = 'processing';
      const seatIds = freshSeats(2);
      const reservationId = await hold(user, seatIds);
      const answer = await pending(user, reservationId, 'processing-key', processing);
      assert.equal(answer.status, 'payment_pending');
      assert.equal(answer.payment.status, 'processing');
      assert.equal(answer.payment.next_action, undefined, 'nothing for the buyer to do');
      const waiting = await reservationOf(user, reservationId);
      assert.equal(waiting.status, 'active');
      assert.equal(waiting.payment_status, 'processing');
      const again = await confirm(user, reservationId, 'processing-key', processing);
      assert.equal(again.statusCode, 202, 'a retry while pending is the pending answer');
      await s.bank(answer.payment.payment_id, 'succeeded');
      const booked = await reservationOf(user, reservationId);
      assert.equal(booked.status, 'confirmed');
      assert.equal(booked.payment_status, 'succeeded');
      assert.deepEqual(await seatStatuses(seatIds), ['booked', 'booked']);
      const retry = await confirm(user, reservationId, 'processing-key', processing);
      assert.equal(retry.statusCode, 201, retry.body);
      assert.equal(retry.json().booking_id, booked.booking_id);
      await checkAll();
    });

    test('when the suite is over, then the provider had every delivery taken (2xx) and none is left held', async () => {
      await s.controls.webhooksSettled();
      assert.deepEqual(
        s.controls.webhookDeliveries.filter((delivery) => !delivery.ok),
        [],
        'deliveries the endpoint refused',
      );
      assert.deepEqual(s.controls.pendingWebhooks(), []);
      await checkAll();
    });
  });
}
