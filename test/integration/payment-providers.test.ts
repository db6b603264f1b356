// The payment provider contract, one suite for every provider: the built-in test provider
// (in process) and the Stripe adapter (the official SDK against test/support/stripe-stand-in.ts,
// a local stand-in of Stripe's API). Both charge once per key, decline, wait for the buyer's
// bank, void a key before or after its charge, refund in parts and never beyond the charge,
// and send webhook events signed as Stripe signs them, which parseWebhook verifies.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import type { StripeEventEnvelope, WebhookDelivery } from '../../src/adapters/payments/stripe-events.ts';
import { StripePayments } from '../../src/adapters/payments/stripe-payments.ts';
import type { LedgerIntent, SimulatedRefund } from '../../src/adapters/payments/stripe-simulation.ts';
import { TestPayments, testPaymentMethods } from '../../src/adapters/payments/test-payments.ts';
import {
  type ChargeOutcome,
  type ChargeRequest,
  type Payments,
  type ProviderEvent,
  WebhookSignatureError,
} from '../../src/app/ports/payments.ts';
import { type StripeStandIn, startStripeStandIn } from '../support/stripe-stand-in.ts';

const webhookSecret = 'whsec_contract_suite';

/** What both the test provider and the stand-in offer a test besides the port. */
interface ProviderControls {
  complete(chargeId: string, outcome: 'succeeded' | 'failed'): unknown;
  completeRefund(refundId: string, outcome: 'succeeded' | 'failed'): void;
  refundStatus: 'succeeded' | 'pending';
  failRefunds(count: number): void;
  pauseWebhooks(): void;
  resumeWebhooks(): Promise<void>;
  pendingWebhooks(): StripeEventEnvelope[];
  flushWebhooks(options?: { order?: 'as-made' | 'reversed'; duplicate?: boolean }): Promise<void>;
  webhooksSettled(): Promise<void>;
  readonly webhookDeliveries: readonly WebhookDelivery[];
  charges(): LedgerIntent[];
  refunds(): SimulatedRefund[];
}

interface Subject {
  payments: Payments;
  controls: ProviderControls;
  /** Webhook deliveries received, in the order they arrived. */
  received: { payload: string; signature: string }[];
  /** The next `count` deliveries are refused by the endpoint (HTTP 500, or the listener throws). */
  failDeliveries(count: number): void;
  close(): Promise<void>;
  standIn?: StripeStandIn;
}

const providers: { name: string; start(): Promise<Subject> }[] = [
  {
    name: 'test (in process)',
    async start() {
      const payments = new TestPayments({ webhookSecret });
      const received: Subject['received'] = [];
      let failures = 0;
      payments.onWebhook((payload, signature) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('the endpoint is down');
        }
        received.push({ payload, signature });
      });
      return {
        payments,
        controls: payments,
        received,
        failDeliveries: (count) => (failures = count),
        close: async () => {},
      };
    },
  },
  {
    name: 'stripe (official SDK → stand-in)',
    async start() {
      const received: Subject['received'] = [];
      let failures = 0;
      const endpoint = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          if (failures > 0) {
            failures -= 1;
            response.writeHead(500).end();
            return;
          }
          const signature = request.headers['stripe-signature'];
          received.push({ payload: Buffer.concat(chunks).toString('utf8'), signature: String(signature) });
          response.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
      const standIn = await startStripeStandIn({
        webhookSecret,
        webhookUrl: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/v1/payments/webhook`,
      });
      const payments = new StripePayments({
        secretKey: standIn.secretKey,
        webhookSecret,
        apiBase: standIn.url,
        timeoutMs: 5_000,
        maxNetworkRetries: 1,
      });
      return {
        payments,
        controls: standIn,
        received,
        standIn,
        failDeliveries: (count) => (failures = count),
        close: async () => {
          await standIn.close();
          endpoint.closeAllConnections();
          await new Promise<void>((resolve) => endpoint.close(() => resolve()));
        },
      };
    },
  },
];

for (const provider of providers) {
  describe(`payment provider contract: ${provider.name}`, () => {
    let subject: Subject;
    let payments: Payments;
    let controls: ProviderControls;

    before(async () => {
      subject = await provider.start();
      payments = subject.payments;
      controls = subject.controls;
    });
    after(() => subject.close());
    afterEach(async () => {
      controls.refundStatus = 'succeeded';
      await controls.resumeWebhooks();
      await controls.webhooksSettled();
    });

    const request = (paymentMethod: string, overrides: Partial<ChargeRequest> = {}): ChargeRequest => {
      const reservationId = `r-${randomUUID()}`;
      return {
        idempotencyKey: `key-${randomUUID()}`,
        amountCents: 5_000,
        currency: 'USD',
        paymentMethod,
        description: `reservation ${reservationId}`,
        metadata: { reservation_id: reservationId, attempt: '1' },
        ...overrides,
      };
    };

    const chargeIdOf = (outcome: ChargeOutcome): string => {
      assert.ok(outcome.kind === 'succeeded' || outcome.kind === 'pending' || outcome.chargeId, 'has a charge id');
      return outcome.chargeId!;
    };

    /** The events received for this charge, verified and parsed, in arrival order. */
    const eventsFor = async (chargeId: string): Promise<ProviderEvent[]> => {
      await controls.webhooksSettled();
      return subject.received
        .map(({ payload, signature }) => payments.parseWebhook(payload, signature))
        .filter((event) => event.chargeId === chargeId);
    };

    const waitFor = async (condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (!(await condition())) {
        if (Date.now() > deadline) assert.fail('timed out waiting');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    const ledgerOf = (chargeId: string) => controls.charges().find((charge) => charge.id === chargeId)!;

    test('when a card pays, then the charge succeeds and a signed payment.succeeded event carries its metadata', async () => {
      const charge = request(testPaymentMethods.succeeds);
      const outcome = await payments.charge(charge);
      assert.equal(outcome.kind, 'succeeded');
      const chargeId = chargeIdOf(outcome);
      assert.deepEqual(await payments.retrieve(chargeId), { status: 'succeeded', amountCents: 5_000 });
      const events = await eventsFor(chargeId);
      assert.deepEqual(
        events.map((event) => event.type),
        ['payment.succeeded'],
      );
      assert.equal(events[0]!.amountCents, 5_000);
      assert.deepEqual(events[0]!.metadata, charge.metadata);
      assert.equal(events[0]!.refundId, null);
      assert.ok(Math.abs(events[0]!.createdMs - Date.now()) < 5_000, 'createdMs is the event time in ms');
      assert.equal(ledgerOf(chargeId).currency, 'usd');
    });

    test('when a card is declined, then the charge is declined with its reason and payment.failed is sent', async () => {
      const outcome = await payments.charge(request(testPaymentMethods.declined));
      assert.equal(outcome.kind, 'declined');
      assert.equal(outcome.kind === 'declined' && outcome.reason, 'Your card was declined.');
      const chargeId = chargeIdOf(outcome);
      assert.equal((await payments.retrieve(chargeId)).status, 'failed');
      assert.deepEqual(
        (await eventsFor(chargeId)).map((event) => event.type),
        ['payment.failed'],
      );
    });

    test('when a payment method does not exist, then the charge is declined', async () => {
      const outcome = await payments.charge(request('pm_card_nonexistent'));
      assert.equal(outcome.kind, 'declined');
      assert.match(outcome.kind === 'declined' ? outcome.reason : '', /No such PaymentMethod/);
    });

    test('when a card is looked up, then the same card has one fingerprint, another card another, and a charge reports it', async () => {
      const fingerprintOf = async (paymentMethod: string) => {
        const card = await payments.cardOf(paymentMethod);
        assert.equal(card.kind, 'card', paymentMethod);
        return card.kind === 'card' ? card.fingerprint : '';
      };
      const visa = await fingerprintOf(testPaymentMethods.succeeds);
      assert.equal(await fingerprintOf(testPaymentMethods.succeeds), visa);
      assert.notEqual(await fingerprintOf('pm_card_mastercard'), visa);
      // A named card is one card whatever the method: declined once, then paying.
      const named = await fingerprintOf('pm_card_chargeDeclined.contract');
      assert.equal(await fingerprintOf('pm_card_visa.contract'), named);
      assert.notEqual(await fingerprintOf('pm_card_visa.another'), named);
      assert.equal((await payments.cardOf('pm_card_nonexistent')).kind, 'unknown');
      assert.equal((await payments.cardOf('pm_card_visa.')).kind, 'unknown');

      const paid = await payments.charge(request('pm_card_visa.contract'));
      assert.deepEqual(paid.kind === 'succeeded' && paid.cardFingerprint, named);
      const pending = await payments.charge(request('pm_card_threeDSecure2Required.contract'));
      assert.deepEqual(pending.kind === 'pending' && pending.cardFingerprint, named);
    });

    for (const bank of ['succeeded', 'failed'] as const) {
      test(`when 3-D Secure is required and the bank answers ${bank}, then the charge is pending, then ${bank === 'succeeded' ? 'paid' : 'failed'}`, async () => {
        const outcome = await payments.charge(request(testPaymentMethods.threeDSecure));
        assert.equal(outcome.kind, 'pending');
        if (outcome.kind !== 'pending') return;
        assert.equal(outcome.status, 'requires_action');
        assert.match(outcome.clientSecret ?? '', /^pi_.+_secret_/);
        assert.equal(outcome.nextAction?.type, 'redirect_to_url');
        assert.ok(outcome.nextAction.url.includes(outcome.chargeId), outcome.nextAction.url);
        assert.equal((await payments.retrieve(outcome.chargeId)).status, 'requires_action');
        assert.deepEqual(
          (await eventsFor(outcome.chargeId)).map((event) => event.type),
          ['payment.requires_action'],
        );
        controls.complete(outcome.chargeId, bank);
        assert.equal((await payments.retrieve(outcome.chargeId)).status, bank);
        assert.deepEqual(
          (await eventsFor(outcome.chargeId)).map((event) => event.type),
          ['payment.requires_action', bank === 'succeeded' ? 'payment.succeeded' : 'payment.failed'],
        );
        controls.complete(outcome.chargeId, bank === 'succeeded' ? 'failed' : 'succeeded');
        assert.equal((await payments.retrieve(outcome.chargeId)).status, bank, 'a payment that ended stays ended');
      });
    }

    test('when a payment is processing, then it is pending until the bank ends it', async () => {
      const outcome = await payments.charge(request(testPaymentMethods.processing));
      assert.equal(outcome.kind, 'pending');
      assert.equal(outcome.kind === 'pending' && outcome.status, 'processing');
      const chargeId = chargeIdOf(outcome);
      assert.equal((await payments.retrieve(chargeId)).status, 'processing');
      await controls.webhooksSettled();
      controls.complete(chargeId, 'succeeded');
      assert.equal((await payments.retrieve(chargeId)).status, 'succeeded');
      assert.deepEqual(
        (await eventsFor(chargeId)).map((event) => event.type),
        ['payment.processing', 'payment.succeeded'],
      );
    });

    test('when the same key is charged again, at once or later, then there is one charge and the same answer', async () => {
      const charge = request(testPaymentMethods.succeeds);
      const [first, second] = await Promise.all([payments.charge(charge), payments.charge(charge)]);
      const third = await payments.charge(charge);
      assert.deepEqual(second, first);
      assert.deepEqual(third, first);
      const made = controls.charges().filter((c) => c.metadata.reservation_id === charge.metadata.reservation_id);
      assert.equal(made.length, 1);
      assert.equal(made[0]!.status, 'succeeded');
    });

    test('when a key is reused with other parameters, then the charge is refused', async () => {
      const charge = request(testPaymentMethods.succeeds);
      await payments.charge(charge);
      await assert.rejects(payments.charge({ ...charge, amountCents: 6_000 }), /same parameters/);
    });

    test('when a key is voided before any charge, then a charge sent under it later is declined and nothing is charged', async () => {
      const charge = request(testPaymentMethods.succeeds);
      const { paymentMethod: _, ...identity } = charge;
      assert.deepEqual(await payments.voidByKey(identity), { kind: 'voided' });
      const late = await payments.charge(charge);
      assert.equal(late.kind, 'declined');
      assert.equal(late.kind === 'declined' && late.reason, 'This payment was cancelled before it was made.');
      assert.deepEqual(await payments.voidByKey(identity), { kind: 'voided' }, 'safe to repeat');
      const made = controls.charges().filter((c) => c.metadata.reservation_id === charge.metadata.reservation_id);
      assert.deepEqual(
        made.map((c) => [c.status, c.amount_received]),
        [['canceled', 0]],
      );
      assert.deepEqual(
        (await eventsFor(made[0]!.id)).map((event) => event.type),
        ['payment.canceled'],
      );
    });

    test('when a key is voided after its charge succeeded, then it is refunded in full once, however often it is voided', async () => {
      const charge = request(testPaymentMethods.succeeds);
      const { paymentMethod: _, ...identity } = charge;
      const chargeId = chargeIdOf(await payments.charge(charge));
      const voided = await payments.voidByKey(identity);
      assert.equal(voided.kind, 'refunded');
      if (voided.kind !== 'refunded') return;
      assert.equal(voided.chargeId, chargeId);
      assert.equal(voided.amountCents, 5_000);
      assert.deepEqual(await payments.voidByKey(identity), voided, 'the same refund, not a second');
      assert.equal(controls.refunds().filter((refund) => refund.payment_intent === chargeId).length, 1);
      assert.equal(ledgerOf(chargeId).amount_refunded, 5_000);
      const refundEvents = (await eventsFor(chargeId)).filter((event) => event.refundId !== null);
      assert.deepEqual(
        refundEvents.map((event) => [event.type, event.refundId, event.amountCents]),
        [['refund.succeeded', voided.refundId, 5_000]],
      );
      assert.deepEqual(refundEvents[0]!.metadata, charge.metadata);
    });

    test('when a key is voided after a partial refund, then only what is left is refunded', async () => {
      const charge = request(testPaymentMethods.succeeds);
      const { paymentMethod: _, ...identity } = charge;
      const chargeId = chargeIdOf(await payments.charge(charge));
      await payments.refund({ chargeId, amountCents: 1_500, idempotencyKey: `refund-${randomUUID()}`, metadata: {} });
      const voided = await payments.voidByKey(identity);
      assert.equal(voided.kind === 'refunded' && voided.amountCents, 3_500);
      assert.equal(ledgerOf(chargeId).amount_refunded, 5_000);
    });

    test('when a declined key is voided, then it is voided and nothing is refunded', async () => {
      const charge = request(testPaymentMethods.declined);
      const { paymentMethod: _, ...identity } = charge;
      const chargeId = chargeIdOf(await payments.charge(charge));
      assert.deepEqual(await payments.voidByKey(identity), { kind: 'voided' });
      assert.equal((await payments.retrieve(chargeId)).status, 'canceled');
    });

    test('when a key is voided while its 3-D Secure step waits, then the payment is cancelled and the bank cannot complete it', async () => {
      const charge = request(testPaymentMethods.threeDSecure);
      const { paymentMethod: _, ...identity } = charge;
      const chargeId = chargeIdOf(await payments.charge(charge));
      assert.deepEqual(await payments.voidByKey(identity), { kind: 'voided' });
      controls.complete(chargeId, 'succeeded');
      assert.equal((await payments.retrieve(chargeId)).status, 'canceled');
    });

    test('when a key is voided while its payment is processing, then the void says so and refunds nothing', async () => {
      const charge = request(testPaymentMethods.processing);
      const { paymentMethod: _, ...identity } = charge;
      const chargeId = chargeIdOf(await payments.charge(charge));
      assert.deepEqual(await payments.voidByKey(identity), { kind: 'processing', chargeId });
      controls.complete(chargeId, 'succeeded');
      const voided = await payments.voidByKey(identity);
      assert.equal(voided.kind === 'refunded' && voided.amountCents, 5_000);
    });

    test('when a charge is refunded in parts, then each key refunds once and never beyond the charge', async () => {
      const chargeId = chargeIdOf(await payments.charge(request(testPaymentMethods.succeeds)));
      const first = {
        chargeId,
        amountCents: 2_000,
        idempotencyKey: `refund-${randomUUID()}`,
        metadata: { seat: 's1' },
      };
      const made = await payments.refund(first);
      assert.equal(made.status, 'succeeded');
      assert.match(made.refundId, /^re_/);
      assert.deepEqual(await payments.refund(first), made, 'the same key is the same refund');
      await assert.rejects(
        payments.refund({ chargeId, amountCents: 3_001, idempotencyKey: `refund-${randomUUID()}`, metadata: {} }),
        /greater than unrefunded amount/,
      );
      const rest = await payments.refund({
        chargeId,
        amountCents: 3_000,
        idempotencyKey: `refund-${randomUUID()}`,
        metadata: {},
      });
      assert.notEqual(rest.refundId, made.refundId);
      await assert.rejects(
        payments.refund({ chargeId, amountCents: 1, idempotencyKey: `refund-${randomUUID()}`, metadata: {} }),
      );
      assert.equal(ledgerOf(chargeId).amount_refunded, 5_000);
      assert.equal(controls.refunds().filter((refund) => refund.payment_intent === chargeId).length, 2);
    });

    test('when a refund is made under a key with other parameters, then it is refused', async () => {
      const chargeId = chargeIdOf(await payments.charge(request(testPaymentMethods.succeeds)));
      const refund = { chargeId, amountCents: 1_000, idempotencyKey: `refund-${randomUUID()}`, metadata: {} };
      await payments.refund(refund);
      await assert.rejects(payments.refund({ ...refund, amountCents: 2_000 }), /same parameters/);
    });

    test('when a payment that did not succeed is refunded, then the refund is refused', async () => {
      const chargeId = chargeIdOf(await payments.charge(request(testPaymentMethods.declined)));
      await assert.rejects(
        payments.refund({ chargeId, amountCents: 1_000, idempotencyKey: `refund-${randomUUID()}`, metadata: {} }),
        /does not have a successful charge/,
      );
    });

    test('when the provider fails a refund, then retrying under its key makes exactly one refund', async () => {
      const chargeId = chargeIdOf(await payments.charge(request(testPaymentMethods.succeeds)));
      const refund = { chargeId, amountCents: 1_000, idempotencyKey: `refund-${randomUUID()}`, metadata: {} };
      controls.failRefunds(1);
      // The Stripe SDK retries a 500 itself (maxNetworkRetries); the test provider throws.
      const first = await payments.refund(refund).catch(() => null);
      const retried = await payments.refund(refund);
      if (first) assert.deepEqual(retried, first);
      assert.equal(controls.refunds().filter((made) => made.payment_intent === chargeId).length, 1);
    });

    test('when a refund is pending, then its outcome comes later as refund.succeeded or refund.failed', async () => {
      const chargeId = chargeIdOf(await payments.charge(request(testPaymentMethods.succeeds)));
      controls.refundStatus = 'pending';
      const kept = await payments.refund({
        chargeId,
        amountCents: 1_000,
        idempotencyKey: `r-${randomUUID()}`,
        metadata: {},
      });
      const lost = await payments.refund({
        chargeId,
        amountCents: 2_000,
        idempotencyKey: `r-${randomUUID()}`,
        metadata: {},
      });
      assert.equal(kept.status, 'pending');
      controls.completeRefund(kept.refundId, 'succeeded');
      controls.completeRefund(lost.refundId, 'failed');
      // Deliveries run concurrently: their order is not promised, so they are compared sorted.
      const refundEvents = (await eventsFor(chargeId)).filter((event) => event.refundId !== null);
      assert.deepEqual(
        refundEvents.map((event) => `${event.type} ${event.refundId}`).sort(),
        [
          `other ${kept.refundId}`, // refund.created, pending: its outcome comes later
          `other ${lost.refundId}`,
          `refund.succeeded ${kept.refundId}`,
          `refund.failed ${lost.refundId}`,
        ].sort(),
      );
      assert.equal(ledgerOf(chargeId).amount_refunded, 1_000, 'a failed refund gives its amount back');
    });

    test('when a webhook is tampered with, unsigned, signed with another secret or too old, then parseWebhook refuses it', async () => {
      const chargeId = chargeIdOf(await payments.charge(request(testPaymentMethods.succeeds)));
      await controls.webhooksSettled();
      const delivery = subject.received.find(
        ({ payload, signature }) => payments.parseWebhook(payload, signature).chargeId === chargeId,
      )!;
      const tampered = delivery.payload.replace('"amount": 5000', '"amount": 1');
      assert.notEqual(tampered, delivery.payload);
      const forged = Stripe.webhooks.generateTestHeaderString({ payload: delivery.payload, secret: 'whsec_other' });
      const stale = Stripe.webhooks.generateTestHeaderString({
        payload: delivery.payload,
        secret: webhookSecret,
        timestamp: Math.floor(Date.now() / 1000) - 3_600,
      });
      for (const [payload, signature] of [
        [tampered, delivery.signature],
        [delivery.payload, undefined],
        [delivery.payload, ''],
        [delivery.payload, 'garbage'],
        [delivery.payload, forged],
        [delivery.payload, stale],
      ] as const) {
        assert.throws(() => payments.parseWebhook(payload, signature), WebhookSignatureError);
      }
      assert.equal(payments.parseWebhook(delivery.payload, delivery.signature).chargeId, chargeId);
    });

    test('when deliveries are held, then they arrive when flushed, in any order and more than once, each with its event id', async () => {
      controls.pauseWebhooks();
      const chargeId = chargeIdOf(await payments.charge(request(testPaymentMethods.threeDSecure)));
      controls.complete(chargeId, 'succeeded');
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((await eventsFor(chargeId)).length, 0, 'nothing delivered while held');
      assert.deepEqual(
        controls.pendingWebhooks().map((event) => event.type),
        ['payment_intent.requires_action', 'payment_intent.succeeded'],
      );
      await controls.flushWebhooks({ order: 'reversed', duplicate: true });
      const events = await eventsFor(chargeId);
      assert.deepEqual(
        events.map((event) => event.type),
        ['payment.succeeded', 'payment.requires_action', 'payment.succeeded', 'payment.requires_action'],
      );
      assert.equal(new Set(events.map((event) => event.id)).size, 2, 'a duplicate has its event id');
      assert.ok(events[0]!.createdMs >= events[1]!.createdMs, 'the later state has the later (or same) time');
      assert.deepEqual(controls.pendingWebhooks(), []);
    });

    test('when the endpoint refuses a delivery, then it is delivered again', async () => {
      subject.failDeliveries(1);
      const chargeId = chargeIdOf(await payments.charge(request(testPaymentMethods.succeeds)));
      await waitFor(async () => (await eventsFor(chargeId)).length === 1);
      const attempts = controls.webhookDeliveries.filter((delivery) => delivery.type === 'payment_intent.succeeded');
      assert.deepEqual(
        attempts.slice(-2).map((delivery) => [delivery.attempt, delivery.ok]),
        [
          [1, false],
          [2, true],
        ],
      );
    });
  });
}

describe('the Stripe adapter on the network', () => {
  let standIn: StripeStandIn;
  before(async () => {
    standIn = await startStripeStandIn({ webhookSecret });
  });
  after(() => standIn.close());
  afterEach(() => {
    standIn.delayMs = 0;
    standIn.delayMsFor = () => standIn.delayMs;
  });

  const adapter = (options: { timeoutMs: number; maxNetworkRetries?: number; secretKey?: string }) =>
    new StripePayments({
      secretKey: options.secretKey ?? standIn.secretKey,
      webhookSecret,
      apiBase: standIn.url,
      timeoutMs: options.timeoutMs,
      maxNetworkRetries: options.maxNetworkRetries ?? 0,
    });
  const charge = (): ChargeRequest => ({
    idempotencyKey: `key-${randomUUID()}`,
    amountCents: 2_500,
    currency: 'EUR',
    paymentMethod: testPaymentMethods.succeeds,
    description: 'reservation timeout',
    metadata: { reservation_id: randomUUID() },
  });

  test('when Stripe answers later than the timeout, then the call rejects within the timeout', async () => {
    standIn.delayMs = 2_000;
    const startedMs = Date.now();
    await assert.rejects(adapter({ timeoutMs: 200 }).retrieve('pi_whatever'), Stripe.errors.StripeConnectionError);
    const tookMs = Date.now() - startedMs;
    assert.ok(tookMs >= 190 && tookMs < 1_000, `rejected after ${tookMs} ms`);
  });

  test('when a charge times out after Stripe created it, then voiding its key cancels it and a late retry is declined', async () => {
    const request = charge();
    const { paymentMethod: _, ...identity } = request;
    standIn.delayMs = 1_000;
    await assert.rejects(adapter({ timeoutMs: 200 }).charge(request), Stripe.errors.StripeConnectionError);
    standIn.delayMs = 0;
    const made = standIn.charges().filter((c) => c.metadata.reservation_id === request.metadata.reservation_id);
    assert.deepEqual(
      made.map((c) => c.status),
      ['requires_payment_method'],
      'created, its answer lost, never confirmed',
    );
    const payments = adapter({ timeoutMs: 2_000 });
    assert.deepEqual(await payments.voidByKey(identity), { kind: 'voided' });
    const late = await payments.charge(request);
    assert.equal(late.kind, 'declined', 'the charge retried later is refused');
    assert.equal(late.kind === 'declined' && late.chargeId, made[0]!.id);
  });

  test('when a confirm times out after Stripe charged, then voiding its key refunds the charge', async () => {
    const request = charge();
    const { paymentMethod: _, ...identity } = request;
    standIn.delayMsFor = (_method, path) => (path.endsWith('/confirm') ? 1_000 : 0);
    await assert.rejects(adapter({ timeoutMs: 300 }).charge(request), Stripe.errors.StripeConnectionError);
    const [made] = standIn.charges().filter((c) => c.metadata.reservation_id === request.metadata.reservation_id);
    assert.equal(made?.status, 'succeeded', 'charged, the answer lost');
    const voided = await adapter({ timeoutMs: 2_000 }).voidByKey(identity);
    assert.equal(voided.kind === 'refunded' && voided.amountCents, 2_500);
    assert.equal(standIn.charges().find((c) => c.id === made.id)?.amount_refunded, 2_500);
  });

  test('when the API key is wrong, then every call is refused as unauthenticated', async () => {
    await assert.rejects(
      adapter({ timeoutMs: 2_000, secretKey: 'sk_test_wrong' }).charge(charge()),
      Stripe.errors.StripeAuthenticationError,
    );
  });

  test('when Stripe fails a refund with a 500, then the SDK retries it under the same key and one refund is made', async () => {
    const payments = adapter({ timeoutMs: 2_000, maxNetworkRetries: 1 });
    const outcome = await payments.charge(charge());
    assert.equal(outcome.kind, 'succeeded');
    const chargeId = outcome.kind === 'succeeded' ? outcome.chargeId : '';
    standIn.failRefunds(1);
    const refund = await payments.refund({
      chargeId,
      amountCents: 100,
      idempotencyKey: `r-${randomUUID()}`,
      metadata: {},
    });
    assert.equal(refund.status, 'succeeded');
    const attempts = standIn.requests.filter((made) => made.path === '/v1/refunds').slice(-2);
    assert.deepEqual(
      attempts.map((made) => made.status),
      [500, 200],
    );
    assert.equal(standIn.refunds().filter((made) => made.payment_intent === chargeId).length, 1);
  });
});
