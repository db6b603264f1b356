// Stripe's PaymentIntents and Refunds simulated in memory: the one model of their states that
// the built-in test provider (test-payments.ts) and the test stand-in of Stripe's HTTP API
// (test/support/stripe-stand-in.ts) both run, so the two behave alike by construction.
// Stripe's test payment methods decide what a confirmation does; `complete` plays the buyer's
// bank for a payment waiting on it. Every change publishes the event Stripe would send, and
// every refusal is Stripe's error object with Stripe's HTTP status.
import { type EventOrigin, type StripeEventEnvelope, makeStripeEvent, stripeId } from './stripe-events.ts';
import { simulatedCard } from './test-cards.ts';

// The test payment methods and cards live in test-cards.ts; importers of the simulation find them here too.
export { simulatedCard, simulatedPaymentMethod, simulatedPaymentMethods, type SimulatedCard } from './test-cards.ts';

export type IntentStatus =
  'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'succeeded' | 'canceled';

/** A PaymentIntent as Stripe's API shows it (the fields this service and the SDK read). */
export interface SimulatedIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  description: string | null;
  metadata: Record<string, string>;
  status: IntentStatus;
  client_secret: string;
  created: number;
  livemode: false;
  payment_method: string | null;
  payment_method_types: string[];
  latest_charge: string | null;
  next_action: { type: 'redirect_to_url'; redirect_to_url: { url: string; return_url: string | null } } | null;
  last_payment_error: { type: string; code: string; decline_code?: string; message: string } | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
}

/** A payment as a ledger shows it to a test's assertions. */
export interface LedgerIntent {
  id: string;
  amount: number;
  amount_received: number;
  amount_refunded: number;
  currency: string;
  status: IntentStatus;
  description: string | null;
  metadata: Record<string, string>;
}

export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export interface SimulatedRefund {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  charge: string | null;
  created: number;
  metadata: Record<string, string>;
  status: RefundStatus;
  reason: null;
  failure_reason: string | null;
}

/** Stripe's error object (`{ error: … }`) and the HTTP status Stripe answers it with. */
export class StripeApiFailure extends Error {
  constructor(
    readonly httpStatus: number,
    readonly error: {
      type: 'card_error' | 'invalid_request_error' | 'idempotency_error' | 'api_error';
      code?: string;
      decline_code?: string;
      message: string;
      param?: string;
      payment_intent?: SimulatedIntent;
    },
  ) {
    super(error.message);
  }
}

const declinedMessage = 'Your card was declined.';
const authenticationFailedMessage =
  'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.';
const cancelableStatuses: readonly IntentStatus[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
];
const confirmableStatuses: readonly IntentStatus[] = ['requires_payment_method', 'requires_confirmation'];

/** Bounded so a long-running demo cannot grow without limit; the oldest payments are forgotten. */
const intentsRememberedMaxDefault = 100_000;

export interface SimulatedStripeOptions {
  /** Receives every event as it is made (Stripe's webhook deliveries start here). */
  publish: (event: StripeEventEnvelope) => void;
  /** Where a buyer finishes a 3-D Secure step for this payment. */
  bankUrlFor: (intentId: string) => string;
  /** Inserted after each id's prefix: `test` makes `pi_test_…`. */
  idInfix?: string;
  nowMs?: () => number;
  intentsRememberedMax?: number;
}

export class SimulatedStripe {
  private readonly intents = new Map<string, SimulatedIntent>();
  private readonly refundsById = new Map<string, SimulatedRefund>();
  private readonly refundIdsByIntent = new Map<string, string[]>();
  /** The status new refunds start in (cards: succeeded at once; `pending` to test refund.updated). */
  refundStatus: 'succeeded' | 'pending' = 'succeeded';

  constructor(private readonly options: SimulatedStripeOptions) {}

  /** A payment to be confirmed (Stripe sends payment_intent.created; nothing here listens for it). */
  createIntent(request: {
    amount: number;
    currency: string;
    description: string | null;
    metadata: Record<string, string>;
  }): SimulatedIntent {
    if (this.intents.size >= (this.options.intentsRememberedMax ?? intentsRememberedMaxDefault)) this.forgetOldest();
    const id = this.newId('pi');
    const intent: SimulatedIntent = {
      id,
      object: 'payment_intent',
      amount: request.amount,
      amount_received: 0,
      currency: request.currency,
      description: request.description,
      metadata: { ...request.metadata },
      status: 'requires_payment_method',
      client_secret: `${id}_secret_${stripeId('s').slice(2)}`,
      created: this.nowSeconds(),
      livemode: false,
      payment_method: null,
      payment_method_types: ['card'],
      latest_charge: null,
      next_action: null,
      last_payment_error: null,
      canceled_at: null,
      cancellation_reason: null,
    };
    this.intents.set(id, intent);
    return structuredClone(intent);
  }

  intent(id: string): SimulatedIntent | undefined {
    const intent = this.intents.get(id);
    return intent && structuredClone(intent);
  }

  /** Every payment remembered, oldest first (snapshots). */
  allIntents(): SimulatedIntent[] {
    return [...this.intents.values()].map((intent) => structuredClone(intent));
  }

  /** Every payment remembered with what was refunded of it, oldest first. */
  ledger(): LedgerIntent[] {
    return [...this.intents.values()].map((intent) => ({
      id: intent.id,
      amount: intent.amount,
      amount_received: intent.amount_received,
      amount_refunded: this.refundedCents(intent.id),
      currency: intent.currency,
      status: intent.status,
      description: intent.description,
      metadata: { ...intent.metadata },
    }));
  }

  /** Confirms with a test payment method; throws Stripe's 402 card_error for a declined card. */
  confirm(id: string, paymentMethod: string, origin?: EventOrigin): SimulatedIntent {
    const intent = this.existing(id);
    if (!confirmableStatuses.includes(intent.status)) {
      throw this.unexpectedState(
        intent,
        `You cannot confirm this PaymentIntent because it has a status of ${intent.status}.`,
      );
    }
    switch (simulatedCard(paymentMethod)?.behaviour) {
      case 'succeeds':
        intent.payment_method = paymentMethod;
        this.succeed(intent, origin);
        break;
      case 'declined':
        this.fail(
          intent,
          { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: declinedMessage },
          origin,
        );
        throw new StripeApiFailure(402, {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'generic_decline',
          message: declinedMessage,
          payment_intent: structuredClone(intent),
        });
      case 'threeDSecure':
        intent.payment_method = paymentMethod;
        intent.status = 'requires_action';
        intent.next_action = {
          type: 'redirect_to_url',
          redirect_to_url: { url: this.options.bankUrlFor(intent.id), return_url: null },
        };
        this.publish('payment_intent.requires_action', intent, origin);
        break;
      case 'processing':
        intent.payment_method = paymentMethod;
        intent.status = 'processing';
        this.publish('payment_intent.processing', intent, origin);
        break;
      default:
        throw new StripeApiFailure(400, {
          type: 'invalid_request_error',
          code: 'resource_missing',
          param: 'payment_method',
          message: `No such PaymentMethod: '${paymentMethod}'`,
        });
    }
    return structuredClone(intent);
  }

  /** Cancels a payment not yet made; a succeeded or processing one is refused (400). */
  cancel(id: string, origin?: EventOrigin): SimulatedIntent {
    const intent = this.existing(id);
    if (!cancelableStatuses.includes(intent.status)) {
      throw this.unexpectedState(
        intent,
        `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${cancelableStatuses.join(', ')}.`,
      );
    }
    intent.status = 'canceled';
    intent.next_action = null;
    intent.canceled_at = this.nowSeconds();
    this.publish('payment_intent.canceled', intent, origin);
    return structuredClone(intent);
  }

  /**
   * The buyer's bank ends a payment waiting on it (3-D Secure, or processing). A payment not
   * waiting is left as it is: the bank's page submitted twice changes nothing.
   */
  complete(id: string, outcome: 'succeeded' | 'failed'): SimulatedIntent {
    const intent = this.existing(id);
    if (intent.status !== 'requires_action' && intent.status !== 'processing') return structuredClone(intent);
    if (outcome === 'succeeded') this.succeed(intent);
    else if (intent.status === 'requires_action') {
      this.fail(intent, {
        type: 'invalid_request_error',
        code: 'payment_intent_authentication_failure',
        message: authenticationFailedMessage,
      });
    } else {
      this.fail(intent, {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: declinedMessage,
      });
    }
    return structuredClone(intent);
  }

  /** Refunds part or all of what is left of a succeeded payment (all of it when amount is omitted). */
  createRefund(
    request: { paymentIntent: string; amount?: number; metadata: Record<string, string> },
    origin?: EventOrigin,
  ): SimulatedRefund {
    const intent = this.intents.get(request.paymentIntent);
    if (!intent) {
      throw new StripeApiFailure(400, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'payment_intent',
        message: `No such payment_intent: '${request.paymentIntent}'`,
      });
    }
    if (intent.status !== 'succeeded') {
      throw this.unexpectedState(intent, 'This PaymentIntent does not have a successful charge to refund.');
    }
    const leftCents = intent.amount_received - this.refundedCents(intent.id);
    if (leftCents === 0) {
      throw new StripeApiFailure(400, {
        type: 'invalid_request_error',
        code: 'charge_already_refunded',
        message: `Charge ${intent.latest_charge} has already been refunded.`,
      });
    }
    const amount = request.amount ?? leftCents;
    if (!Number.isInteger(amount) || amount <= 0) {
      throw new StripeApiFailure(400, {
        type: 'invalid_request_error',
        code: 'parameter_invalid_integer',
        param: 'amount',
        message: 'This value must be greater than or equal to 1.',
      });
    }
    if (amount > leftCents) {
      throw new StripeApiFailure(400, {
        type: 'invalid_request_error',
        code: 'amount_too_large',
        param: 'amount',
        message: `Refund amount (${dollars(amount)}) is greater than unrefunded amount on charge (${dollars(leftCents)})`,
      });
    }
    const refund: SimulatedRefund = {
      id: this.newId('re'),
      object: 'refund',
      amount,
      currency: intent.currency,
      payment_intent: intent.id,
      charge: intent.latest_charge,
      created: this.nowSeconds(),
      metadata: { ...request.metadata },
      status: this.refundStatus,
      reason: null,
      failure_reason: null,
    };
    this.refundsById.set(refund.id, refund);
    this.refundIdsByIntent.set(intent.id, [...(this.refundIdsByIntent.get(intent.id) ?? []), refund.id]);
    this.publish('refund.created', refund, origin);
    return structuredClone(refund);
  }

  refund(id: string): SimulatedRefund | undefined {
    const refund = this.refundsById.get(id);
    return refund && structuredClone(refund);
  }

  /** A payment's refunds, newest first (Stripe's list order). */
  refundsOf(intentId: string): SimulatedRefund[] {
    return (this.refundIdsByIntent.get(intentId) ?? [])
      .map((id) => structuredClone(this.refundsById.get(id)!))
      .reverse();
  }

  allRefunds(): SimulatedRefund[] {
    return [...this.refundsById.values()].map((refund) => structuredClone(refund));
  }

  /** Ends a pending refund; a refund already ended is left as it is. */
  completeRefund(id: string, outcome: 'succeeded' | 'failed'): SimulatedRefund {
    const refund = this.refundsById.get(id);
    if (!refund) throw new Error(`No such refund: '${id}'`);
    if (refund.status !== 'pending') return structuredClone(refund);
    refund.status = outcome;
    if (outcome === 'failed') refund.failure_reason = 'unknown';
    this.publish(outcome === 'succeeded' ? 'refund.updated' : 'refund.failed', refund);
    return structuredClone(refund);
  }

  /** What was refunded or is being refunded (a failed refund gives its amount back). */
  refundedCents(intentId: string): number {
    let total = 0;
    for (const id of this.refundIdsByIntent.get(intentId) ?? []) {
      const refund = this.refundsById.get(id)!;
      if (refund.status !== 'failed') total += refund.amount;
    }
    return total;
  }

  private existing(id: string): SimulatedIntent {
    const intent = this.intents.get(id);
    if (!intent) {
      throw new StripeApiFailure(404, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'intent',
        message: `No such payment_intent: '${id}'`,
      });
    }
    return intent;
  }

  private succeed(intent: SimulatedIntent, origin?: EventOrigin): void {
    intent.status = 'succeeded';
    intent.amount_received = intent.amount;
    intent.latest_charge = this.newId('ch');
    intent.next_action = null;
    intent.last_payment_error = null;
    this.publish('payment_intent.succeeded', intent, origin);
  }

  private fail(
    intent: SimulatedIntent,
    error: NonNullable<SimulatedIntent['last_payment_error']>,
    origin?: EventOrigin,
  ) {
    intent.status = 'requires_payment_method';
    intent.payment_method = null;
    intent.next_action = null;
    intent.last_payment_error = error;
    this.publish('payment_intent.payment_failed', intent, origin);
  }

  private unexpectedState(intent: SimulatedIntent, message: string): StripeApiFailure {
    return new StripeApiFailure(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message,
      payment_intent: structuredClone(intent),
    });
  }

  private publish(type: string, object: SimulatedIntent | SimulatedRefund, origin?: EventOrigin): void {
    this.options.publish(makeStripeEvent(type, { ...object }, this.nowMs(), origin));
  }

  private forgetOldest(): void {
    const oldest = this.intents.keys().next().value;
    if (oldest === undefined) return;
    this.intents.delete(oldest);
    for (const id of this.refundIdsByIntent.get(oldest) ?? []) this.refundsById.delete(id);
    this.refundIdsByIntent.delete(oldest);
  }

  private newId(prefix: string): string {
    return stripeId(this.options.idInfix ? `${prefix}_${this.options.idInfix}` : prefix);
  }

  private nowMs(): number {
    return this.options.nowMs?.() ?? Date.now();
  }

  private nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }
}

function dollars(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
