// GET /v1/reservations/{id} while the provider's webhook lands: the reservation and its
// payment_status are read in two statements, and the webhook's settle_payment() changes
// both in one commit. Whichever way the commit falls between the two reads, the answer is a
// state that was (or is about to be): never a payment succeeded on a hold still active with
// no booking, nor failed on a hold not yet released. (The web app's checkout polls this
// after the 3-D Secure step; found by test/browser/payments.test.ts on PostgreSQL.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testPaymentMethods } from '../../src/adapters/payments/test-payments.ts';
import { auth, confirmReservation, createEvent, holdSeats, startTestApp, type TestApp } from '../support/harness.ts';

describe('a reservation read while its payment settles', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t?.close());

  /** Reads the reservation with the provider's webhooks delivered right after the first of its two reads. */
  async function readWithWebhookBetween(user: string, reservationId: string) {
    const deps = t.runtime.deps;
    const reservations = deps.reservations;
    const ledger = deps.ledger;
    const findReservation = reservations.findReservation;
    const latestPayment = ledger.latestPayment;
    let delivered = false;
    const thenDeliver = async <T>(read: Promise<T>): Promise<T> => {
      const value = await read;
      if (!delivered) {
        delivered = true;
        await t.payments.resumeWebhooks();
      }
      return value;
    };
    reservations.findReservation = (id) => thenDeliver(findReservation.call(reservations, id));
    ledger.latestPayment = (id) => thenDeliver(latestPayment.call(ledger, id));
    try {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/reservations/${reservationId}`,
        headers: auth(await t.token(user)),
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.ok(delivered, 'the webhook was delivered during the read');
      return response.json() as { status: string; payment_status?: string; booking_id: string | null };
    } finally {
      reservations.findReservation = findReservation;
      ledger.latestPayment = latestPayment;
    }
  }

  for (const outcome of ['succeeded', 'failed'] as const) {
    test(`when the bank's ${outcome} webhook lands between the reads, then the reservation and its payment agree`, async () => {
      const eventId = await createEvent(t);
      const user = `reader-${outcome}`;
      const reservationId = await holdSeats(t, eventId, user, [outcome === 'succeeded' ? 's0' : 's1']);
      const pending = await confirmReservation(
        t,
        user,
        reservationId,
        `read-${outcome}`,
        testPaymentMethods.threeDSecure,
      );
      assert.equal(pending.statusCode, 202, pending.body);
      await t.payments.webhooksSettled();
      t.payments.pauseWebhooks();
      t.payments.complete(pending.json().payment.payment_id, outcome);

      const seen = await readWithWebhookBetween(user, reservationId);
      if (seen.status === 'active') {
        assert.equal(seen.payment_status, 'requires_action', `a hold still active: ${JSON.stringify(seen)}`);
      } else if (outcome === 'succeeded') {
        assert.equal(seen.status, 'confirmed');
        assert.ok(seen.booking_id);
      } else {
        assert.equal(seen.status, 'cancelled');
      }
      const settled = await readWithWebhookBetween(user, reservationId);
      assert.equal(settled.status, outcome === 'succeeded' ? 'confirmed' : 'cancelled');
      assert.equal(settled.payment_status, outcome);
    });
  }
});
