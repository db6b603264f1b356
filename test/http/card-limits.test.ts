// Seats per payment card (max_seats_per_card): a limit that holds across accounts, counted by
// the card's fingerprint at the provider. Once with the built-in test provider and once with
// PAYMENT_PROVIDER=stripe (the official SDK against the local stand-in of Stripe's API, whose
// GET /v1/payment_methods/:id gives the fingerprints). Test cards: `pm_card_visa.<name>` is one
// card per name, `pm_card_chargeDeclined.<name>` / `pm_card_threeDSecure2Required.<name>` the
// same card declined / asking for 3-D Secure (see simulatedCard in stripe-simulation.ts).
//
// CARD_RACE_ROUNDS (default 3): how many races of 10 accounts with one card each run makes.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { StripePayments } from '../../src/adapters/payments/stripe-payments.ts';
import { simulatedCard } from '../../src/adapters/payments/stripe-simulation.ts';
import { TestPayments } from '../../src/adapters/payments/test-payments.ts';
import type { CardLookup } from '../../src/app/ports/payments.ts';
import {
  auth,
  checkInvariants,
  confirmReservation,
  createEvent,
  eventBody,
  holdSeats,
  startTestApp,
  testConfig,
  type TestApp,
} from '../support/harness.ts';
import { startStripeStandIn, type StripeStandIn } from '../support/stripe-stand-in.ts';

const webhookSecret = 'whsec_card_limits_suite';
const env = { STRIPE_WEBHOOK_SECRET: webhookSecret };
const raceRounds = Number(process.env.CARD_RACE_ROUNDS ?? '3');
const limit = 4;

/** Counts the card lookups: an event without a limit must never make one. */
class CountingTestPayments extends TestPayments {
  cardLookups = 0;
  override cardOf(paymentMethod: string): Promise<CardLookup> {
    this.cardLookups += 1;
    return super.cardOf(paymentMethod);
  }
}

class CountingStripePayments extends StripePayments {
  cardLookups = 0;
  override cardOf(paymentMethod: string): Promise<CardLookup> {
    this.cardLookups += 1;
    return super.cardOf(paymentMethod);
  }
}

interface Subject {
  t: TestApp;
  cardLookups(): number;
  /** Successful charges at the provider so far. */
  charged(): number;
  /** The provider answers (or stops answering) card lookups. */
  cardLookupsFail(fail: boolean): void;
  /** The buyer's bank ends a pending payment; its webhooks have been applied on return. */
  bank(paymentId: string, outcome: 'succeeded' | 'failed'): Promise<void>;
  close(): Promise<void>;
}

const providers: { name: string; start(): Promise<Subject> }[] = [
  {
    name: 'test provider',
    async start() {
      const payments = new CountingTestPayments({ webhookSecret });
      const t = await startTestApp({ payments, env });
      return {
        t,
        cardLookups: () => payments.cardLookups,
        charged: () => payments.chargeCount,
        cardLookupsFail: (fail) => payments.failCardLookups(fail ? 1_000_000 : 0),
        async bank(paymentId, outcome) {
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
    name: 'PAYMENT_PROVIDER=stripe: official SDK → stand-in',
    async start() {
      const standIn: StripeStandIn = await startStripeStandIn({ webhookSecret });
      const stripeEnv = {
        ...env,
        PAYMENT_PROVIDER: 'stripe',
        STRIPE_SECRET_KEY: standIn.secretKey,
        STRIPE_API_BASE: standIn.url,
      };
      const config = testConfig(stripeEnv);
      const payments = new CountingStripePayments({
        secretKey: config.STRIPE_SECRET_KEY!,
        webhookSecret: config.STRIPE_WEBHOOK_SECRET!,
        apiBase: config.STRIPE_API_BASE,
        timeoutMs: config.PAYMENT_TIMEOUT_MS,
        maxNetworkRetries: 0,
      });
      const t = await startTestApp({ payments, env: stripeEnv });
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.server.address() as AddressInfo;
      standIn.setWebhookUrl(`http://127.0.0.1:${port}/v1/payments/webhook`);
      return {
        t,
        cardLookups: () => payments.cardLookups,
        charged: () => standIn.charges().filter((charge) => charge.status === 'succeeded').length,
        cardLookupsFail: (fail) => {
          standIn.failPaymentMethodReads = fail;
        },
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
  describe(`seats per payment card (${provider.name})`, () => {
    let s: Subject;
    let t: TestApp;
    let eventId: string;
    let seatsTaken = 0;
    let users = 0;

    before(async () => {
      s = await provider.start();
      t = s.t;
      eventId = await createEvent(t, {
        max_seats_per_card: limit,
        seat_map: { sections: [{ name: 'A', price_tier: 'front', rows: [{ label: '1', seats: 400 }] }] },
      });
    });
    after(() => s?.close());

    /** Seats free now: let go by an earlier race, or never used; a user no earlier test has used. */
    const released: string[] = [];
    const freshSeats = (count: number) => Array.from({ length: count }, () => released.shift() ?? `s${seatsTaken++}`);
    const freshUser = (name: string) => `${name}-${users++}`;
    const hold = (user: string, count: number, event = eventId) => holdSeats(t, event, user, freshSeats(count));
    const confirm = (user: string, reservationId: string, key: string, paymentMethod: string) =>
      confirmReservation(t, user, reservationId, key, paymentMethod);
    const fingerprint = (paymentMethod: string) => simulatedCard(paymentMethod)!.fingerprint;

    /** What the database says the card paid for at the event: seats of bookings whose charge it made. */
    const bookedWith = async (paymentMethod: string, event = eventId) => {
      const { rows } = await t.runtime.db.query<{ seats: number; bookings: number }>(
        `SELECT coalesce(sum(cardinality(b.seat_nos)), 0)::int AS seats, count(*)::int AS bookings
         FROM bookings b JOIN payments p ON p.charge_id = b.charge_id
         WHERE b.event_id = $1 AND p.card_fingerprint = $2`,
        [event, fingerprint(paymentMethod)],
      );
      return rows[0]!;
    };
    const reservationStatus = async (user: string, reservationId: string) => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/reservations/${reservationId}`,
        headers: auth(await t.token(user)),
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().status as string;
    };
    const assertCardLimit = (response: Awaited<ReturnType<typeof confirm>>, cardSeats: number, seats: number) => {
      assert.equal(response.statusCode, 409, response.body);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      const problem = response.json();
      assert.equal(problem.code, 'CARD_LIMIT_REACHED');
      assert.equal(problem.max_seats_per_card, limit);
      assert.equal(problem.card_seats, cardSeats);
      assert.equal(problem.reservation_seats, seats);
    };

    test('when three accounts pay with one card, then the card stops at the limit and the third may use another card', async () => {
      const card = 'pm_card_visa.shared-by-three';
      const [ann, bob, cat] = [freshUser('ann'), freshUser('bob'), freshUser('cat')];
      const annHold = await hold(ann, 2);
      const paid = await confirm(ann, annHold, 'ann-1', card);
      assert.equal(paid.statusCode, 201, paid.body);
      // The same key again replays the booking: counted once.
      const replay = await confirm(ann, annHold, 'ann-1', card);
      assert.equal(replay.statusCode, 201, replay.body);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      const bobHold = await hold(bob, 2);
      assert.equal((await confirm(bob, bobHold, 'bob-1', card)).statusCode, 201);
      assert.deepEqual(await bookedWith(card), { seats: 4, bookings: 2 });

      const charged = s.charged();
      const catHold = await hold(cat, 1);
      assertCardLimit(await confirm(cat, catHold, 'cat-1', card), 4, 1);
      // Not stored under the key: the same request is judged again, and refused again.
      assertCardLimit(await confirm(cat, catHold, 'cat-1', card), 4, 1);
      assert.equal(s.charged(), charged, 'nothing was charged');
      assert.equal(await reservationStatus(cat, catHold), 'active', 'the hold is kept');

      const other = await confirm(cat, catHold, 'cat-2', 'pm_card_visa.cats-own');
      assert.equal(other.statusCode, 201, other.body);
      assert.deepEqual(await bookedWith(card), { seats: 4, bookings: 2 });
      assert.deepEqual(await checkInvariants(t), []);
    });

    test('when accounts pay with distinct cards, then each card has its own limit', async () => {
      for (const card of ['pm_card_visa.distinct-1', 'pm_card_visa.distinct-2', 'pm_card_mastercard']) {
        const user = freshUser('dee');
        const response = await confirm(user, await hold(user, limit), `${user}-key`, card);
        assert.equal(response.statusCode, 201, response.body);
        assert.deepEqual(await bookedWith(card), { seats: limit, bookings: 1 });
      }
    });

    test('when a booking paid with the card is refunded, then its seats no longer count', async () => {
      const card = 'pm_card_visa.refunded';
      const [dan, eve] = [freshUser('dan'), freshUser('eve')];
      const danHold = await hold(dan, 4);
      const booked = await confirm(dan, danHold, 'dan-1', card);
      assert.equal(booked.statusCode, 201, booked.body);
      const eveHold = await hold(eve, 2);
      assertCardLimit(await confirm(eve, eveHold, 'eve-1', card), 4, 2);

      const booking = booked.json();
      const refund = await t.app.inject({
        method: 'POST',
        url: `/v1/bookings/${booking.booking_id}/refund`,
        headers: auth(await t.token('organizer-1', 'organizer')),
        payload: {
          reason: 'two seats behind a pillar',
          seat_ids: (booking.seats as { seat_id: string }[]).slice(0, 2).map((seat) => seat.seat_id),
        },
      });
      assert.equal(refund.statusCode, 200, refund.body);
      // The same request, tried again: the card now has 2 seats, and 2 more fit.
      const retried = await confirm(eve, eveHold, 'eve-1', card);
      assert.equal(retried.statusCode, 201, retried.body);
      assert.deepEqual(await bookedWith(card), { seats: 4, bookings: 2 });
    });

    test('when a payment with the card is declined, then it does not count', async () => {
      const [fay, gus] = [freshUser('fay'), freshUser('gus')];
      const fayHold = await hold(fay, 4);
      const declined = await confirm(fay, fayHold, 'fay-1', 'pm_card_chargeDeclined.declined-once');
      assert.equal(declined.statusCode, 402, declined.body);
      // The same card (its name), paying this time, for another account: all 4 seats fit.
      const paid = await confirm(gus, await hold(gus, 4), 'gus-1', 'pm_card_visa.declined-once');
      assert.equal(paid.statusCode, 201, paid.body);
      // And fay's hold, still hers, is over the limit for that card now.
      assertCardLimit(await confirm(fay, fayHold, 'fay-2', 'pm_card_visa.declined-once'), 4, 4);
    });

    test('when a 3-D Secure payment is pending, then it counts while pending, and not once the bank refuses it', async () => {
      const card = 'pm_card_threeDSecure2Required.pending';
      const [hal, ian] = [freshUser('hal'), freshUser('ian')];
      const pending = await confirm(hal, await hold(hal, 3), 'hal-1', card);
      assert.equal(pending.statusCode, 202, pending.body);
      const ianHold = await hold(ian, 2);
      assertCardLimit(await confirm(ian, ianHold, 'ian-1', 'pm_card_visa.pending'), 3, 2);

      await s.bank(pending.json().payment.payment_id, 'failed');
      const paid = await confirm(ian, ianHold, 'ian-1', 'pm_card_visa.pending');
      assert.equal(paid.statusCode, 201, paid.body);
    });

    test('when a 3-D Secure payment completes, then its seats count as booked', async () => {
      const card = 'pm_card_threeDSecure2Required.completed';
      const [jan, kim] = [freshUser('jan'), freshUser('kim')];
      const pending = await confirm(jan, await hold(jan, 2), 'jan-1', card);
      assert.equal(pending.statusCode, 202, pending.body);
      await s.bank(pending.json().payment.payment_id, 'succeeded');
      assert.deepEqual(await bookedWith(card), { seats: 2, bookings: 1 });
      assertCardLimit(await confirm(kim, await hold(kim, 3), 'kim-1', 'pm_card_visa.completed'), 2, 3);
    });

    test(`when 10 accounts confirm with one card at once, then at most the limit is booked (${raceRounds} rounds)`, async () => {
      for (let round = 0; round < raceRounds; round += 1) {
        const card = `pm_card_visa.race-${round}`;
        const buyers = Array.from({ length: 10 }, () => freshUser('racer'));
        const seats = buyers.map(() => freshSeats(2));
        const holds = await Promise.all(buyers.map((user, index) => holdSeats(t, eventId, user, seats[index]!)));
        const answers = await Promise.all(
          buyers.map((user, index) => confirm(user, holds[index]!, `race-${round}`, card)),
        );
        const codes = answers.map((response) => response.statusCode).sort();
        const booked = await bookedWith(card);
        const context = `round ${round}: ${JSON.stringify(codes)} ${JSON.stringify(booked)}`;
        assert.ok(booked.seats <= limit, context);
        // Nothing else stands in the way: exactly the limit is sold, every other answer is the 409.
        assert.deepEqual(booked, { seats: limit, bookings: limit / 2 }, context);
        assert.deepEqual(codes, [201, 201, ...Array(8).fill(409)], context);
        for (const response of answers) {
          if (response.statusCode === 409) assert.equal(response.json().code, 'CARD_LIMIT_REACHED', context);
        }
        // The refused holds are let go, so the next round has seats.
        for (const [index, response] of answers.entries()) {
          if (response.statusCode !== 409) continue;
          const letGo = await t.app.inject({
            method: 'DELETE',
            url: `/v1/reservations/${holds[index]}`,
            headers: auth(await t.token(buyers[index]!)),
          });
          assert.equal(letGo.statusCode, 204, letGo.body);
          released.push(...seats[index]!);
        }
      }
      assert.deepEqual(await checkInvariants(t), []);
    });

    test('when the provider cannot be asked about the card, then 503, retryable, nothing charged, the hold kept', async () => {
      const lee = freshUser('lee');
      const leeHold = await hold(lee, 1);
      const charged = s.charged();
      s.cardLookupsFail(true);
      let refused;
      try {
        refused = await confirm(lee, leeHold, 'lee-1', 'pm_card_visa.provider-down');
      } finally {
        s.cardLookupsFail(false);
      }
      assert.equal(refused.statusCode, 503, refused.body);
      assert.equal(refused.json().code, 'PAYMENT_PROVIDER_UNAVAILABLE');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(s.charged(), charged);
      assert.equal(await reservationStatus(lee, leeHold), 'active');
      const paid = await confirm(lee, leeHold, 'lee-1', 'pm_card_visa.provider-down');
      assert.equal(paid.statusCode, 201, paid.body);
    });

    test('when the payment method does not exist, then 402 and the hold kept', async () => {
      const moe = freshUser('moe');
      const moeHold = await hold(moe, 1);
      const refused = await confirm(moe, moeHold, 'moe-1', 'pm_card_nonexistent');
      assert.equal(refused.statusCode, 402, refused.body);
      assert.equal(refused.json().code, 'PAYMENT_DECLINED');
      assert.equal(await reservationStatus(moe, moeHold), 'active');
    });

    test('when an event has no limit, then one card pays for any number of seats and is never looked up', async () => {
      const open = await createEvent(t, {
        seat_map: { sections: [{ name: 'A', price_tier: 'front', rows: [{ label: '1', seats: 40 }] }] },
      });
      const detail = await t.app.inject({ method: 'GET', url: `/v1/events/${open}` });
      assert.equal(detail.json().max_seats_per_card, null);
      const lookups = s.cardLookups();
      const card = 'pm_card_visa.no-limit';
      for (let index = 0; index < 3; index += 1) {
        const user = freshUser('ned');
        const seats = Array.from({ length: 4 }, (_, seat) => `s${index * 4 + seat}`);
        const response = await confirm(user, await holdSeats(t, open, user, seats), `${user}-key`, card);
        assert.equal(response.statusCode, 201, response.body);
      }
      // The same card (its name) through 3-D Secure, booked by the webhook.
      const user = freshUser('ned');
      const pending = await confirm(
        user,
        await holdSeats(t, open, user, ['s12', 's13']),
        `${user}-key`,
        'pm_card_threeDSecure2Required.no-limit',
      );
      assert.equal(pending.statusCode, 202, pending.body);
      await s.bank(pending.json().payment.payment_id, 'succeeded');
      assert.equal(s.cardLookups(), lookups, 'no card lookup for an event without a limit');
      // The card is on the payment rows all the same, as the charge reported it.
      assert.deepEqual(await bookedWith(card, open), { seats: 14, bookings: 4 });
    });

    test('when max_seats_per_card is not an integer of at least 1, then 400 and nothing changes', async () => {
      const organizer = auth(await t.token('organizer-1', 'organizer'));
      for (const bad of [0, -1, 1.5, '3', true, 100_001, {}]) {
        const created = await t.app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: organizer,
          payload: eventBody({ max_seats_per_card: bad }),
        });
        assert.equal(created.statusCode, 400, `${JSON.stringify(bad)}: ${created.body}`);
        assert.equal(created.json().code, 'VALIDATION_FAILED');
        const patched = await t.app.inject({
          method: 'PATCH',
          url: `/v1/events/${eventId}`,
          headers: organizer,
          payload: { max_seats_per_card: bad },
        });
        assert.equal(patched.statusCode, 400, `${JSON.stringify(bad)}: ${patched.body}`);
        assert.equal(patched.json().code, 'VALIDATION_FAILED');
      }
      const unchanged = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` });
      assert.equal(unchanged.json().max_seats_per_card, limit);

      // A good value is set, and null takes the limit off.
      const other = await createEvent(t, { max_seats_per_card: 2 });
      for (const value of [6, null]) {
        const patched = await t.app.inject({
          method: 'PATCH',
          url: `/v1/events/${other}`,
          headers: organizer,
          payload: { max_seats_per_card: value },
        });
        assert.equal(patched.statusCode, 200, patched.body);
        assert.equal(patched.json().max_seats_per_card, value);
      }
    });
  });
}
