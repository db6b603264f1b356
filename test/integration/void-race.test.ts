// A payment voided while its webhook settles it: the buyer cancelled a hold while their bank
// was asking for 3-D Secure, the bank then said yes. The sweeper's void (settleRefunds) reads
// the attempt as still open, and while it talks to the provider the webhook arrives and
// writes the charge's whole refund ("hold_lost"), whose first try fails. The void then
// refunds what is left of the charge at the provider. Exactly one refund is made, and the
// ledger must know it: its refund row is that refund, succeeded, not a row retried forever
// against a charge the provider says is already refunded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StripePayments } from '../../src/adapters/payments/stripe-payments.ts';
import { settleRefunds } from '../../src/app/confirm-reservation.ts';
import { sendDueRefunds } from '../../src/app/payments.ts';
import { auth, confirmReservation, createEvent, holdSeats, startTestApp, type TestApp } from '../support/harness.ts';
import { type StripeStandIn, startStripeStandIn } from '../support/stripe-stand-in.ts';

const webhookSecret = 'whsec_void_race';
const staleMs = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a void that races the webhook of the same payment', () => {
  let standIn: StripeStandIn;
  let t: TestApp;

  before(async () => {
    standIn = await startStripeStandIn({ webhookSecret });
    // No retries inside the SDK: one injected failure fails the webhook's refund attempt.
    const payments = new StripePayments({
      secretKey: standIn.secretKey,
      webhookSecret,
      apiBase: standIn.url,
      timeoutMs: 10_000,
      maxNetworkRetries: 0,
    });
    t = await startTestApp({
      payments,
      env: {
        IDEMPOTENCY_IN_FLIGHT_STALE_MS: String(staleMs),
        REFUND_RETRY_BASE_MS: '10',
        REFUND_RETRY_MAX_MS: '10',
      },
    });
    const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    standIn.setWebhookUrl(`${url}/v1/payments/webhook`);
  });
  after(async () => {
    await t?.close();
    await standIn?.close();
  });

  test('when the void refunds a charge whose webhook wrote its refund first, then the ledger records that one refund as made', async () => {
    const eventId = await createEvent(t);
    const reservationId = await holdSeats(t, eventId, 'void-race', ['s0']);
    const pending = await confirmReservation(t, 'void-race', reservationId, 'key', 'pm_card_threeDSecure2Required');
    assert.equal(pending.statusCode, 202, pending.body);
    const chargeId: string = pending.json().payment.payment_id;
    await standIn.webhooksSettled();

    // The buyer gives up; the bank says yes anyway. Its webhook is late.
    standIn.pauseWebhooks();
    const cancelled = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${reservationId}`,
      headers: auth(await t.token('void-race')),
    });
    assert.equal(cancelled.statusCode, 204);
    standIn.complete(chargeId, 'succeeded');
    await sleep(staleMs + 100);

    // The sweeper's void reads the attempt as open; its first call to the provider is slow.
    standIn.delayMsFor = (method, path) => (method === 'POST' && path === '/v1/payment_intents' ? 1_500 : 0);
    const settling = settleRefunds(t.runtime.deps, 10);
    await sleep(200);
    // Meanwhile the webhook settles the payment and writes its refund, whose first try fails.
    standIn.failRefunds(1);
    await standIn.flushWebhooks();
    await settling;
    standIn.delayMsFor = () => standIn.delayMs;
    await standIn.resumeWebhooks();
    for (let pass = 0; pass < 3; pass += 1) {
      await sleep(50);
      await sendDueRefunds(t.runtime.deps, 10);
    }
    await standIn.webhooksSettled();

    const sent = standIn.requests
      .filter((made) => made.method === 'POST' && made.path === '/v1/refunds')
      .map((made) => [made.idempotencyKey?.endsWith(':void-refund') ? 'void' : 'webhook', made.status]);
    assert.deepEqual(
      sent.slice(0, 2),
      [
        ['webhook', 500],
        ['void', 200],
      ],
      "the race happened: the webhook's refund failed, then the void refunded",
    );
    const made = standIn.refunds().filter((refund) => refund.payment_intent === chargeId);
    assert.equal(made.length, 1, 'one refund at the provider');
    assert.equal(made[0]!.amount, 10_000);
    const { rows } = await t.runtime.db.query<{
      status: string;
      provider_refund_id: string | null;
      amount_cents: string;
    }>(
      `SELECT f.status, f.provider_refund_id, f.amount_cents FROM refunds f JOIN payments p ON p.id = f.payment_id
       WHERE p.charge_id = $1`,
      [chargeId],
    );
    assert.deepEqual(
      rows.map((row) => ({ ...row, amount_cents: Number(row.amount_cents) })),
      [{ status: 'succeeded', provider_refund_id: made[0]!.id, amount_cents: 10_000 }],
      'the ledger has that refund, made',
    );
    assert.equal(await t.runtime.deps.ledger.failingRefunds(), 0);
    const { rows: payment } = await t.runtime.db.query<{ status: string; refunded_cents: string }>(
      'SELECT status, refunded_cents FROM payments WHERE charge_id = $1',
      [chargeId],
    );
    assert.deepEqual(
      payment.map((row) => [row.status, Number(row.refunded_cents)]),
      [['succeeded', 10_000]],
    );
  });
});
