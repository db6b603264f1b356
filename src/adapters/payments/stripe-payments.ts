// The `stripe` payment provider: Stripe's PaymentIntents through the official SDK.
//
// A charge is two idempotent requests derived from the charge's key: create the PaymentIntent
// (`<key>:create`, with everything but the payment method), then confirm it with the payment
// method (`<key>:confirm`). Splitting them is what lets a key be voided: voidByKey repeats the
// very same create, which either finds the PaymentIntent a charge made or makes it first, and
// cancels it while it is unpaid (a confirmation that arrives later is refused) or refunds it.
//
// Stripe's idempotency replays a request's first response, a snapshot of that moment: a replayed
// create shows the PaymentIntent as it was created, so its current state is always retrieved.
//
// A card's fingerprint: PaymentMethods.retrieve before a charge (only where an event limits
// seats per card), and the confirmation's payment_method expanded (same request) for the record.
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
import { parseStripeWebhook, webhookToleranceSecondsDefault } from './stripe-events.ts';

export interface StripePaymentsOptions {
  secretKey: string;
  /** The webhook endpoint's signing secret (`whsec_…`). */
  webhookSecret: string;
  /** Another address for Stripe's API (a stand-in in tests), e.g. http://127.0.0.1:12111. */
  apiBase?: string;
  /** Each request attempt's limit; a timed-out attempt is retried up to maxNetworkRetries times. */
  timeoutMs: number;
  /** Retries of a request that failed on the network, a 409 or a 5xx (same idempotency key). */
  maxNetworkRetries?: number;
  /** A webhook signed longer ago than this is refused (a captured one cannot be replayed later). */
  webhookToleranceSeconds?: number;
}

export const cancelledBeforeMadeReason = 'This payment was cancelled before it was made.';

/** Attempts to void a key whose PaymentIntent keeps changing under us (a confirmation racing the void). */
const voidAttemptsMax = 3;

export class StripePayments implements Payments {
  readonly name = 'stripe' as const;
  private readonly stripe: Stripe;

  constructor(private readonly options: StripePaymentsOptions) {
    this.stripe = new Stripe(options.secretKey, {
      ...(options.apiBase ? addressOf(options.apiBase) : {}),
      timeout: options.timeoutMs,
      maxNetworkRetries: options.maxNetworkRetries ?? 1,
      telemetry: false,
      appInfo: { name: 'boxoffice' },
    });
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    const created = await this.create(request);
    if (created.status === 'canceled')
      return { kind: 'declined', reason: cancelledBeforeMadeReason, chargeId: created.id };
    let confirmed: Stripe.PaymentIntent;
    try {
      confirmed = await this.stripe.paymentIntents.confirm(
        created.id,
        { payment_method: request.paymentMethod, expand: ['payment_method'] },
        { idempotencyKey: `${request.idempotencyKey}:confirm` },
      );
    } catch (error) {
      if (error instanceof Stripe.errors.StripeCardError) {
        return { kind: 'declined', reason: messageOf(error), chargeId: created.id };
      }
      if (isUnexpectedState(error)) {
        // Voided first (cancelled), or confirmed already under another path: its state now decides.
        return outcomeOf(await this.stripe.paymentIntents.retrieve(created.id));
      }
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.param === 'payment_method') {
        return { kind: 'declined', reason: messageOf(error), chargeId: created.id };
      }
      throw error;
    }
    return outcomeOf(confirmed);
  }

  async cardOf(paymentMethod: string): Promise<CardLookup> {
    let method: Stripe.PaymentMethod;
    try {
      method = await this.stripe.paymentMethods.retrieve(paymentMethod);
    } catch (error) {
      // No such payment method is an answer; anything else (down, timed out) is thrown.
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing') {
        return { kind: 'unknown', reason: messageOf(error) };
      }
      throw error;
    }
    const fingerprint = method.card?.fingerprint;
    return fingerprint
      ? { kind: 'card', fingerprint }
      : { kind: 'unknown', reason: `The payment method ${paymentMethod} is not a card.` };
  }

  async retrieve(chargeId: string): Promise<{ status: ProviderPaymentStatus; amountCents: number }> {
    const intent = await this.stripe.paymentIntents.retrieve(chargeId);
    return { status: providerStatusOf(intent), amountCents: intent.amount };
  }

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    const refund = await this.stripe.refunds.create(
      { payment_intent: request.chargeId, amount: request.amountCents, metadata: request.metadata },
      { idempotencyKey: request.idempotencyKey },
    );
    return { refundId: refund.id, status: refundStatusOf(refund.status) };
  }

  async voidByKey(identity: ChargeIdentity): Promise<VoidOutcome> {
    const { id } = await this.create(identity);
    for (let attempt = 1; ; attempt += 1) {
      const intent = await this.stripe.paymentIntents.retrieve(id);
      switch (intent.status) {
        case 'canceled':
          return { kind: 'voided' };
        case 'processing':
          return { kind: 'processing', chargeId: id };
        case 'succeeded':
          return this.refundWhatIsLeft(intent, identity);
      }
      try {
        await this.stripe.paymentIntents.cancel(id);
        return { kind: 'voided' };
      } catch (error) {
        // Confirmed between our read and the cancel: read again and act on what it became.
        if (!isUnexpectedState(error) || attempt >= voidAttemptsMax) throw error;
      }
    }
  }

  parseWebhook(payload: string, signature: string | undefined): ProviderEvent {
    return parseStripeWebhook(
      this.stripe,
      payload,
      signature,
      this.options.webhookSecret,
      this.options.webhookToleranceSeconds ?? webhookToleranceSecondsDefault,
    );
  }

  /** The one create a key makes: charge and voidByKey must send the very same parameters. */
  private create(identity: ChargeIdentity): Promise<Stripe.PaymentIntent> {
    return this.stripe.paymentIntents.create(
      {
        amount: identity.amountCents,
        currency: identity.currency.toLowerCase(),
        description: identity.description,
        metadata: identity.metadata,
        // On the SDK's API version (2026-11-18.endive) payment_method_types is no longer writable.
        allowed_payment_method_types: ['card'],
      },
      { idempotencyKey: `${identity.idempotencyKey}:create` },
    );
  }

  /**
   * Refunds whatever is left of a succeeded charge (no amount: Stripe refunds the rest), under
   * one key, so a repeated void replays the same refund.
   */
  private async refundWhatIsLeft(intent: Stripe.PaymentIntent, identity: ChargeIdentity): Promise<VoidOutcome> {
    try {
      const refund = await this.stripe.refunds.create(
        { payment_intent: intent.id, metadata: identity.metadata },
        { idempotencyKey: `${identity.idempotencyKey}:void-refund` },
      );
      return { kind: 'refunded', chargeId: intent.id, refundId: refund.id, amountCents: refund.amount };
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeInvalidRequestError) || error.code !== 'charge_already_refunded') {
        throw error;
      }
      // Refunded in full already by other refunds: the void has nothing left to refund.
      const [latest] = (await this.stripe.refunds.list({ payment_intent: intent.id, limit: 1 })).data;
      if (!latest) throw error;
      return { kind: 'refunded', chargeId: intent.id, refundId: latest.id, amountCents: 0 };
    }
  }
}

/** The SDK's host, port and protocol for an API base URL. */
function addressOf(apiBase: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiBase);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`apiBase must be http(s): ${apiBase}`);
  if (url.pathname !== '/' || url.search !== '') throw new Error(`apiBase must have no path: ${apiBase}`);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port),
    protocol,
  };
}

/** Stripe's own message, without the request id the SDK puts before it. */
function messageOf(error: Stripe.errors.StripeError): string {
  const raw = error.raw as { message?: unknown } | undefined;
  return typeof raw?.message === 'string' ? raw.message : error.message;
}

function isUnexpectedState(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'payment_intent_unexpected_state';
}

function outcomeOf(intent: Stripe.PaymentIntent): ChargeOutcome {
  // The card, when the payment method came expanded (the confirmation asks for it).
  const method = intent.payment_method;
  const fingerprint = typeof method === 'object' ? method?.card?.fingerprint : null;
  const card = fingerprint ? { cardFingerprint: fingerprint } : {};
  switch (intent.status) {
    case 'succeeded':
      return { kind: 'succeeded', chargeId: intent.id, ...card };
    case 'requires_action': {
      const url = intent.next_action?.redirect_to_url?.url;
      return {
        kind: 'pending',
        chargeId: intent.id,
        status: 'requires_action',
        ...card,
        ...(intent.client_secret && { clientSecret: intent.client_secret }),
        ...(url && { nextAction: { type: 'redirect_to_url', url } }),
      };
    }
    case 'processing':
      return {
        kind: 'pending',
        chargeId: intent.id,
        status: 'processing',
        ...card,
        ...(intent.client_secret && { clientSecret: intent.client_secret }),
      };
    case 'requires_payment_method':
      return {
        kind: 'declined',
        reason: intent.last_payment_error?.message ?? 'The payment was declined.',
        chargeId: intent.id,
      };
    case 'canceled':
      return { kind: 'declined', reason: cancelledBeforeMadeReason, chargeId: intent.id };
    default:
      // requires_confirmation / requires_capture: not states a confirmed automatic-capture card payment is left in.
      throw new Error(`PaymentIntent ${intent.id} is ${intent.status} after its confirmation`);
  }
}

function providerStatusOf(intent: Stripe.PaymentIntent): ProviderPaymentStatus {
  switch (intent.status) {
    case 'succeeded':
      return 'succeeded';
    case 'processing':
      return 'processing';
    case 'requires_action':
      return 'requires_action';
    case 'canceled':
      return 'canceled';
    case 'requires_capture':
      return 'processing'; // authorized, not captured: not made yet, not failed either
    default:
      return 'failed'; // requires_payment_method (declined) or requires_confirmation (never confirmed)
  }
}

function refundStatusOf(status: string | null): RefundOutcome['status'] {
  if (status === 'succeeded') return 'succeeded';
  if (status === 'failed' || status === 'canceled') return 'failed';
  return 'pending'; // pending, requires_action
}
