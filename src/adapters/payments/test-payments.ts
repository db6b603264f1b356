// The built-in `test` payment provider (the demo's and the tests' default): Stripe's
// PaymentIntents simulated in process (stripe-simulation.ts, the same model the test stand-in of
// Stripe's API runs), with Stripe's test payment methods: pm_card_visa succeeds,
// pm_card_chargeDeclined is declined, pm_card_threeDSecure2Required waits for the buyer's bank
// (`complete`), pm_card_processing stays processing until completed. Like Stripe it dedupes
// charges and refunds by idempotency key, replaying the first answer, and a key voided before
// anything was charged under it refuses a later charge. Every change is a Stripe event, signed
// as Stripe signs it and delivered asynchronously to the onWebhook listeners. Each method is a
// card with a fingerprint, and `<method>.<name>` names other cards (see simulatedCard).
import Stripe from 'stripe';
import type {
  CardLookup,
  ChargeIdentity,
  ChargeOutcome,
  ChargeRequest,
  Payments,
  ProviderEvent,
  ProviderPaymentStatus,
  RefundOutcome,
  RefundRequest,
  VoidOutcome,
} from '../../app/ports/payments.ts';
import {
  type FlushOptions,
  type StripeEventEnvelope,
  StripeEventOutbox,
  type WebhookDelivery,
  parseStripeWebhook,
} from './stripe-events.ts';
import { cancelledBeforeMadeReason } from './stripe-payments.ts';
import {
  type LedgerIntent,
  type SimulatedIntent,
  type SimulatedRefund,
  SimulatedStripe,
  StripeApiFailure,
  simulatedCard,
  simulatedPaymentMethods,
} from './stripe-simulation.ts';

export const testPaymentMethods = simulatedPaymentMethods;

export const testWebhookSecretDefault = 'whsec_test_boxoffice';

/** A webhook listener gets the body and the `Stripe-Signature` header, as an HTTP endpoint would. */
export type WebhookListener = (payload: string, signature: string) => void | Promise<void>;

export interface TestPaymentsOptions {
  /** Signs the webhook events and verifies them in parseWebhook. */
  webhookSecret?: string;
}

/** One charge request's key, and what the request was answered (replayed to a repeat). */
interface KeyedCharge {
  identity: ChargeIdentity;
  intentId: string;
  paymentMethod: string | null;
  /** null: nothing was charged under the key (it was voided first). */
  answer: ChargeOutcome | null;
}

interface KeyedRefund {
  request: RefundRequest;
  outcome: RefundOutcome;
}

/** Bounded so a long-running demo cannot grow without limit; the oldest keys are forgotten. */
const keysRememberedMax = 100_000;

export class TestPayments implements Payments {
  readonly name = 'test' as const;
  private readonly webhookSecret: string;
  private readonly listeners = new Set<WebhookListener>();
  private readonly outbox: StripeEventOutbox;
  private readonly stripe: SimulatedStripe;
  private readonly chargesByKey = new Map<string, KeyedCharge>();
  private readonly refundsByKey = new Map<string, KeyedRefund>();
  private refundFailuresLeft = 0;
  private cardLookupFailuresLeft = 0;
  /** Charges that succeeded (at once, or when the bank completed them). */
  chargeCount = 0;
  /** Refunds made (a refund repeated under its key is not counted again). */
  refundCount = 0;

  constructor(options: TestPaymentsOptions = {}) {
    this.webhookSecret = options.webhookSecret ?? testWebhookSecretDefault;
    this.outbox = new StripeEventOutbox(this.webhookSecret, (payload, signature) => this.deliver(payload, signature));
    this.stripe = new SimulatedStripe({
      idInfix: 'test',
      bankUrlFor: (intentId) => `/#/bank/${intentId}`,
      publish: (event) => this.published(event),
    });
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    let keyed = this.chargesByKey.get(request.idempotencyKey);
    if (keyed) {
      assertSameIdentity(keyed.identity, request);
      if (keyed.answer) {
        if (keyed.paymentMethod !== request.paymentMethod) throw keyReused(request.idempotencyKey);
        return keyed.answer;
      }
    } else {
      keyed = this.remember(request);
    }
    keyed.paymentMethod = request.paymentMethod;
    keyed.answer = this.confirm(keyed.intentId, request.paymentMethod, request.idempotencyKey);
    return keyed.answer;
  }

  async cardOf(paymentMethod: string): Promise<CardLookup> {
    if (this.cardLookupFailuresLeft > 0) {
      this.cardLookupFailuresLeft -= 1;
      throw new Error('An error occurred with our connection to the test payment provider.');
    }
    const card = simulatedCard(paymentMethod);
    return card
      ? { kind: 'card', fingerprint: card.fingerprint }
      : { kind: 'unknown', reason: `No such PaymentMethod: '${paymentMethod}'` };
  }

  /** The next `count` card lookups fail as a provider outage would. */
  failCardLookups(count: number): void {
    this.cardLookupFailuresLeft = count;
  }

  async retrieve(chargeId: string): Promise<{ status: ProviderPaymentStatus; amountCents: number }> {
    const intent = this.stripe.intent(chargeId);
    if (!intent) throw new Error(`No such payment_intent: '${chargeId}'`);
    return { status: providerStatusOf(intent), amountCents: intent.amount };
  }

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    const previous = this.refundsByKey.get(request.idempotencyKey);
    if (previous) {
      const same =
        previous.request.chargeId === request.chargeId &&
        previous.request.amountCents === request.amountCents &&
        sameMetadata(previous.request.metadata, request.metadata);
      if (!same) throw keyReused(request.idempotencyKey);
      return previous.outcome;
    }
    if (this.refundFailuresLeft > 0) {
      this.refundFailuresLeft -= 1;
      throw new Error('An error occurred with our connection to the test payment provider.');
    }
    const refund = this.stripe.createRefund(
      { paymentIntent: request.chargeId, amount: request.amountCents, metadata: request.metadata },
      { requestId: null, idempotencyKey: request.idempotencyKey },
    );
    const outcome: RefundOutcome = { refundId: refund.id, status: refund.status };
    if (this.refundsByKey.size >= keysRememberedMax) this.refundsByKey.delete(this.refundsByKey.keys().next().value!);
    this.refundsByKey.set(request.idempotencyKey, { request, outcome });
    return outcome;
  }

  async voidByKey(identity: ChargeIdentity): Promise<VoidOutcome> {
    let keyed = this.chargesByKey.get(identity.idempotencyKey);
    if (keyed) assertSameIdentity(keyed.identity, identity);
    else keyed = this.remember(identity);
    const intent = this.stripe.intent(keyed.intentId);
    if (!intent) throw new Error(`The payment under key ${identity.idempotencyKey} was forgotten`);
    switch (intent.status) {
      case 'canceled':
        return { kind: 'voided' };
      case 'processing':
        return { kind: 'processing', chargeId: intent.id };
      case 'succeeded':
        return this.refundWhatIsLeft(intent, identity);
      default:
        this.stripe.cancel(intent.id, { requestId: null, idempotencyKey: identity.idempotencyKey });
        return { kind: 'voided' };
    }
  }

  parseWebhook(payload: string, signature: string | undefined): ProviderEvent {
    return parseStripeWebhook(Stripe, payload, signature, this.webhookSecret);
  }

  /** Every event from now on is delivered to this listener too; returns the unsubscribe. */
  onWebhook(listener: WebhookListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Plays the buyer's bank for a payment waiting on it; a payment not waiting is left as it is. */
  complete(chargeId: string, outcome: 'succeeded' | 'failed'): ProviderPaymentStatus {
    if (!this.stripe.intent(chargeId)) throw new UnknownPaymentError(chargeId);
    return providerStatusOf(this.stripe.complete(chargeId, outcome));
  }

  /** The next `count` refund requests fail as a provider outage would (nothing is refunded). */
  failRefunds(count: number): void {
    this.refundFailuresLeft = count;
  }

  /** The status new refunds start in; `pending` ones end with completeRefund. */
  get refundStatus(): 'succeeded' | 'pending' {
    return this.stripe.refundStatus;
  }
  set refundStatus(status: 'succeeded' | 'pending') {
    this.stripe.refundStatus = status;
  }

  completeRefund(refundId: string, outcome: 'succeeded' | 'failed'): void {
    this.stripe.completeRefund(refundId, outcome);
  }

  /** Holds webhook deliveries until resumeWebhooks() or flushWebhooks(). */
  pauseWebhooks(): void {
    this.outbox.pause();
  }

  resumeWebhooks(): Promise<void> {
    return this.outbox.resume();
  }

  pendingWebhooks(): StripeEventEnvelope[] {
    return this.outbox.pending();
  }

  flushWebhooks(options?: FlushOptions): Promise<void> {
    return this.outbox.flush(options);
  }

  /** Resolves when every delivery under way has been made. */
  webhooksSettled(): Promise<void> {
    return this.outbox.settled();
  }

  get webhookDeliveries(): readonly WebhookDelivery[] {
    return this.outbox.deliveries;
  }

  /** Every payment, oldest first, with what was refunded of it (for tests). */
  charges(): LedgerIntent[] {
    return this.stripe.ledger();
  }

  refunds(): SimulatedRefund[] {
    return this.stripe.allRefunds();
  }

  /** Whether any of this charge was refunded (for tests). */
  isRefunded(chargeId: string): boolean {
    return this.stripe.refundedCents(chargeId) > 0;
  }

  /** Successful charges whose description names this text, and how many of them were refunded (for tests). */
  chargesDescribing(text: string): { charged: number; refunded: number } {
    let charged = 0;
    let refunded = 0;
    for (const intent of this.stripe.allIntents()) {
      if (intent.status !== 'succeeded' || !intent.description?.includes(text)) continue;
      charged += 1;
      if (this.stripe.refundedCents(intent.id) > 0) refunded += 1;
    }
    return { charged, refunded };
  }

  private remember(identity: ChargeIdentity): KeyedCharge {
    const intent = this.stripe.createIntent({
      amount: identity.amountCents,
      currency: identity.currency.toLowerCase(),
      description: identity.description,
      metadata: identity.metadata,
    });
    const keyed: KeyedCharge = {
      identity: { ...identity, metadata: { ...identity.metadata } },
      intentId: intent.id,
      paymentMethod: null,
      answer: null,
    };
    if (this.chargesByKey.size >= keysRememberedMax) this.chargesByKey.delete(this.chargesByKey.keys().next().value!);
    this.chargesByKey.set(identity.idempotencyKey, keyed);
    return keyed;
  }

  private confirm(intentId: string, paymentMethod: string, idempotencyKey: string): ChargeOutcome {
    try {
      return outcomeOf(this.stripe.confirm(intentId, paymentMethod, { requestId: null, idempotencyKey }));
    } catch (error) {
      if (!(error instanceof StripeApiFailure)) throw error;
      if (error.error.code === 'payment_intent_unexpected_state') {
        return outcomeOf(this.stripe.intent(intentId)!);
      }
      return { kind: 'declined', reason: error.message, chargeId: intentId };
    }
  }

  private async refundWhatIsLeft(intent: SimulatedIntent, identity: ChargeIdentity): Promise<VoidOutcome> {
    const key = `${identity.idempotencyKey}:void-refund`;
    const previous = this.refundsByKey.get(key);
    if (previous) {
      return {
        kind: 'refunded',
        chargeId: intent.id,
        refundId: previous.outcome.refundId,
        amountCents: previous.request.amountCents,
      };
    }
    const leftCents = intent.amount_received - this.stripe.refundedCents(intent.id);
    if (leftCents === 0) {
      // Refunded in full already by other refunds: the void has nothing left to refund.
      const [latest] = this.stripe.refundsOf(intent.id);
      return { kind: 'refunded', chargeId: intent.id, refundId: latest!.id, amountCents: 0 };
    }
    const refund = await this.refund({
      chargeId: intent.id,
      amountCents: leftCents,
      idempotencyKey: key,
      metadata: identity.metadata,
    });
    return { kind: 'refunded', chargeId: intent.id, refundId: refund.refundId, amountCents: leftCents };
  }

  private published(event: StripeEventEnvelope): void {
    if (event.type === 'payment_intent.succeeded') this.chargeCount += 1;
    if (event.type === 'refund.created') this.refundCount += 1;
    this.outbox.publish(event);
  }

  private async deliver(payload: string, signature: string): Promise<{ ok: boolean }> {
    for (const listener of this.listeners) await listener(payload, signature);
    return { ok: true };
  }
}

/** complete() was asked about a payment this provider never made (or has forgotten). */
export class UnknownPaymentError extends Error {
  constructor(chargeId: string) {
    super(`No such payment: '${chargeId}'`);
  }
}

function outcomeOf(intent: SimulatedIntent): ChargeOutcome {
  // The card, reported with the charge as Stripe's expanded payment_method does.
  const fingerprint = intent.payment_method ? simulatedCard(intent.payment_method)?.fingerprint : undefined;
  const card = fingerprint ? { cardFingerprint: fingerprint } : {};
  switch (intent.status) {
    case 'succeeded':
      return { kind: 'succeeded', chargeId: intent.id, ...card };
    case 'requires_action':
      return {
        kind: 'pending',
        chargeId: intent.id,
        status: 'requires_action',
        ...card,
        clientSecret: intent.client_secret,
        ...(intent.next_action && {
          nextAction: { type: 'redirect_to_url', url: intent.next_action.redirect_to_url.url },
        }),
      };
    case 'processing':
      return {
        kind: 'pending',
        chargeId: intent.id,
        status: 'processing',
        clientSecret: intent.client_secret,
        ...card,
      };
    case 'canceled':
      return { kind: 'declined', reason: cancelledBeforeMadeReason, chargeId: intent.id };
    default:
      return {
        kind: 'declined',
        reason: intent.last_payment_error?.message ?? 'The payment was declined.',
        chargeId: intent.id,
      };
  }
}

function providerStatusOf(intent: SimulatedIntent): ProviderPaymentStatus {
  switch (intent.status) {
    case 'succeeded':
    case 'processing':
    case 'requires_action':
    case 'canceled':
      return intent.status;
    default:
      return 'failed';
  }
}

/** Like Stripe, a key is for one request: reused with other parameters, it is refused. */
function assertSameIdentity(first: ChargeIdentity, then: ChargeIdentity): void {
  const same =
    first.amountCents === then.amountCents &&
    first.currency.toLowerCase() === then.currency.toLowerCase() &&
    first.description === then.description &&
    sameMetadata(first.metadata, then.metadata);
  if (!same) throw keyReused(then.idempotencyKey);
}

function sameMetadata(first: Record<string, string>, then: Record<string, string>): boolean {
  const keys = Object.keys(first);
  return keys.length === Object.keys(then).length && keys.every((key) => first[key] === then[key]);
}

function keyReused(idempotencyKey: string): Error {
  return new Error(
    `Keys for idempotent requests can only be used with the same parameters they were first used with (key ${idempotencyKey}).`,
  );
}
