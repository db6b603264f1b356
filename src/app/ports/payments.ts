// The payment provider, shaped after Stripe's PaymentIntents. Amounts in cents.
//
// A charge is made under an idempotency key: charges with the same key are one charge. It
// succeeds at once, is declined, or is pending: the buyer's bank asks for a step (3-D
// Secure, `requires_action`) or the payment is still being processed (`processing`). A
// pending payment ends later, and the provider says so with a signed webhook event.
//
// A card has a fingerprint: the same for the same card number, whoever's account uses it.
// It is asked for before a charge where an event limits seats per card, and reported with
// a charge for the record.

export type PendingStatus = 'requires_action' | 'processing';

/** A payment's state at the provider. `canceled`: voided before it was made. */
export type ProviderPaymentStatus = 'succeeded' | 'failed' | 'canceled' | PendingStatus;

export type ChargeOutcome =
  /** chargeId: the provider's payment id (a PaymentIntent id with Stripe). */
  | { kind: 'succeeded'; chargeId: string; cardFingerprint?: string }
  | { kind: 'declined'; reason: string; chargeId?: string }
  | {
      kind: 'pending';
      chargeId: string;
      status: PendingStatus;
      cardFingerprint?: string;
      /** What the buyer's page needs to finish the step (Stripe.js), when the provider gives it. */
      clientSecret?: string;
      /** Where the buyer goes to finish the step (the bank's page). */
      nextAction?: { type: 'redirect_to_url'; url: string };
    };

export interface ChargeRequest {
  /** Charges with the same key are one charge (Stripe's Idempotency-Key). */
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  paymentMethod: string;
  description: string;
  /** Stored with the payment and sent back in its webhook events (reservation id, attempt). */
  metadata: Record<string, string>;
}

/** The request a charge was made with, minus the payment method: how it is found again by key. */
export type ChargeIdentity = Omit<ChargeRequest, 'paymentMethod'>;

export interface RefundRequest {
  chargeId: string;
  amountCents: number;
  /** Refunds with the same key are one refund. */
  idempotencyKey: string;
  metadata: Record<string, string>;
}

export interface RefundOutcome {
  refundId: string;
  status: 'succeeded' | 'pending' | 'failed';
}

export type VoidOutcome =
  /** Nothing was charged under the key, and now nothing can be. */
  | { kind: 'voided' }
  /** A charge under the key succeeded and was refunded in full. */
  | { kind: 'refunded'; chargeId: string; refundId: string; amountCents: number }
  /** The charge is still being processed; try again later. */
  | { kind: 'processing'; chargeId: string };

/** A provider's webhook event, verified and reduced to what the service acts on. */
export interface ProviderEvent {
  /** The provider's event id: each is applied once. */
  id: string;
  type:
    | 'payment.succeeded'
    | 'payment.failed'
    | 'payment.processing'
    | 'payment.requires_action'
    | 'payment.canceled'
    | 'refund.succeeded'
    | 'refund.failed'
    | 'other';
  chargeId: string | null;
  refundId: string | null;
  amountCents: number | null;
  metadata: Record<string, string>;
  /** When the provider made the event (epoch ms): later states win over earlier ones. */
  createdMs: number;
}

export class WebhookSignatureError extends Error {}

/** The card behind a payment method, as the provider knows it before any charge. */
export type CardLookup =
  | { kind: 'card'; fingerprint: string }
  /** No such payment method, or not a card (the provider's words): a charge with it is refused. */
  | { kind: 'unknown'; reason: string };

export interface Payments {
  readonly name: 'test' | 'stripe';
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /**
   * The card's fingerprint, before charging (Stripe: PaymentMethods.retrieve, card.fingerprint).
   * Throws when the provider cannot be asked (down, timed out): the caller refuses, retryable.
   */
  cardOf(paymentMethod: string): Promise<CardLookup>;
  /** A payment's current state (reconciliation of pending payments the webhooks missed). */
  retrieve(chargeId: string): Promise<{ status: ProviderPaymentStatus; amountCents: number }>;
  /** Refunds part or all of a charge, once per idempotency key. */
  refund(request: RefundRequest): Promise<RefundOutcome>;
  /**
   * Ends whatever was charged under this idempotency key: refunds it in full if it
   * succeeded; if nothing was charged, voids the key, so a charge sent under it that
   * reaches the provider later is refused (a Stripe PaymentIntent is cancelled). Safe to
   * repeat.
   */
  voidByKey(identity: ChargeIdentity): Promise<VoidOutcome>;
  /** Verifies a webhook's signature and parses it; throws WebhookSignatureError when it is not the provider's. */
  parseWebhook(payload: string, signature: string | undefined): ProviderEvent;
}
