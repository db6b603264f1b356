// Stripe's webhook events, shared by the Stripe adapter, the built-in test provider and the
// test stand-in of Stripe's API: made in Stripe's shape, signed as Stripe signs them (the
// official SDK's helper), delivered at least once and in no promised order, verified with
// the SDK's constructEvent, and reduced to the port's ProviderEvent.
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { type ProviderEvent, WebhookSignatureError } from '../../app/ports/payments.ts';

/** Signs and verifies: a Stripe client, or the Stripe class itself (the same static helpers). */
export type StripeWebhooks = Pick<Stripe, 'webhooks'>;

/** Stripe's default: a signature older than this is refused, so a captured event cannot be replayed later. */
export const webhookToleranceSecondsDefault = 300;

/** A Stripe `event` object, as Stripe POSTs it to a webhook endpoint. */
export interface StripeEventEnvelope {
  id: string;
  object: 'event';
  api_version: string;
  /** Seconds since the epoch, as Stripe counts. */
  created: number;
  data: { object: { object: string } & Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

/** The API request that made a change, as an event names it (none for the bank's own changes). */
export interface EventOrigin {
  requestId: string | null;
  idempotencyKey: string | null;
}

export function stripeId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

export function makeStripeEvent(
  type: string,
  object: StripeEventEnvelope['data']['object'],
  createdMs: number,
  origin: EventOrigin = { requestId: null, idempotencyKey: null },
): StripeEventEnvelope {
  return {
    id: stripeId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: Math.floor(createdMs / 1000),
    // A snapshot: the object as it was when the event was made, not as it is when delivered.
    data: { object: structuredClone(object) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: origin.requestId, idempotency_key: origin.idempotencyKey },
    type,
  };
}

/** The body and `Stripe-Signature` header of a delivery, signed now (each delivery attempt is signed afresh). */
export function signStripeEvent(
  stripe: StripeWebhooks,
  event: StripeEventEnvelope,
  secret: string,
): { payload: string; signature: string } {
  const payload = JSON.stringify(event, null, 2);
  return { payload, signature: stripe.webhooks.generateTestHeaderString({ payload, secret }) };
}

/**
 * Verifies a webhook with the official SDK and reduces it to what the service acts on. Throws
 * WebhookSignatureError when the signature is missing, wrong, too old, or the payload was changed.
 */
export function parseStripeWebhook(
  stripe: StripeWebhooks,
  payload: string,
  header: string | undefined,
  secret: string,
  toleranceSeconds = webhookToleranceSecondsDefault,
): ProviderEvent {
  let event: Stripe.Event;
  try {
    event = stripe.webhooks.constructEvent(payload, header ?? '', secret, toleranceSeconds);
  } catch (error) {
    throw new WebhookSignatureError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  // Correctly signed, yet not an event (only the secret's holder can send one): refused as a
  // forged one is, rather than failing on it (Stripe would retry a 5xx for days).
  if (!isEventShaped(event)) throw new WebhookSignatureError('the signed payload is not a Stripe event');
  return providerEventOf(event);
}

/** What providerEventOf reads of every event: its id (applied once by it), type and object. */
function isEventShaped(event: unknown): event is Stripe.Event {
  const candidate = event as { id?: unknown; type?: unknown; data?: { object?: unknown } | null } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.id === 'string' &&
    typeof candidate.type === 'string' &&
    typeof candidate.data === 'object' &&
    candidate.data !== null &&
    typeof candidate.data.object === 'object' &&
    candidate.data.object !== null
  );
}

const paymentEventTypes: Record<string, ProviderEvent['type']> = {
  'payment_intent.succeeded': 'payment.succeeded',
  'payment_intent.payment_failed': 'payment.failed',
  'payment_intent.processing': 'payment.processing',
  'payment_intent.requires_action': 'payment.requires_action',
  'payment_intent.canceled': 'payment.canceled',
};

export function providerEventOf(event: Stripe.Event): ProviderEvent {
  const base = { id: event.id, createdMs: event.created * 1000 };
  const paymentType = paymentEventTypes[event.type];
  if (paymentType) {
    const intent = event.data.object as Stripe.PaymentIntent;
    return {
      ...base,
      type: paymentType,
      chargeId: intent.id,
      refundId: null,
      amountCents: intent.amount,
      metadata: { ...intent.metadata },
    };
  }
  if (event.type === 'refund.created' || event.type === 'refund.updated' || event.type === 'refund.failed') {
    const refund = event.data.object as Stripe.Refund;
    const type =
      event.type === 'refund.failed' || refund.status === 'failed'
        ? 'refund.failed'
        : refund.status === 'succeeded'
          ? 'refund.succeeded'
          : 'other'; // pending: its outcome comes in a later event
    const paymentIntent = refund.payment_intent;
    return {
      ...base,
      type,
      chargeId: typeof paymentIntent === 'string' ? paymentIntent : (paymentIntent?.id ?? null),
      refundId: refund.id,
      amountCents: refund.amount,
      metadata: { ...refund.metadata },
    };
  }
  return { ...base, type: 'other', chargeId: null, refundId: null, amountCents: null, metadata: {} };
}

/** One attempt to deliver an event. statusCode: the endpoint's answer (HTTP deliveries). */
export interface WebhookDelivery {
  eventId: string;
  type: string;
  attempt: number;
  ok: boolean;
  statusCode?: number;
  error?: string;
}

/** Delivers a signed event; ok when the endpoint took it (Stripe: a 2xx answer). */
export type DeliverWebhook = (payload: string, signature: string) => Promise<{ ok: boolean; statusCode?: number }>;

export interface FlushOptions {
  /** The order events are delivered in: as they were made, or last first. */
  order?: 'as-made' | 'reversed';
  /** Deliver every event a second time after the first round (Stripe delivers at least once). */
  duplicate?: boolean;
}

/** Delays before each automatic redelivery of a failed event; after the last, it waits for a flush. */
const retryDelaysMsDefault = [100, 1_000, 5_000] as const;
const deliveriesRememberedMax = 10_000;

/**
 * Stripe's side of webhooks: every event is delivered asynchronously, a failed delivery is
 * retried after a delay, and tests may hold deliveries to release them later, reordered or
 * twice. Timers are unref'd: a pending retry never keeps a process alive.
 */
export class StripeEventOutbox {
  private paused = false;
  private held: StripeEventEnvelope[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private closed = false;
  readonly deliveries: WebhookDelivery[] = [];

  constructor(
    private readonly secret: string,
    private readonly deliver: DeliverWebhook,
    private readonly retryDelaysMs: readonly number[] = retryDelaysMsDefault,
  ) {}

  /** Queues an event for delivery: on the next turn of the event loop, or when flushed if held. */
  publish(event: StripeEventEnvelope): void {
    if (this.closed) return;
    if (this.paused) {
      this.held.push(event);
      return;
    }
    const delivered = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.attempt(event, true));
    this.track(delivered);
  }

  /** Holds every delivery from now on until resume(); flush() sends the held ones. */
  pause(): void {
    this.paused = true;
  }

  /** Delivers what is held, as made, and stops holding. */
  async resume(): Promise<void> {
    this.paused = false;
    await this.flush();
  }

  /** Events held (paused, or given up on after their retries), oldest first. */
  pending(): StripeEventEnvelope[] {
    return [...this.held];
  }

  /** Delivers the held events one after another; those that fail again stay held. */
  async flush(options: FlushOptions = {}): Promise<void> {
    const events = this.held;
    this.held = [];
    if (options.order === 'reversed') events.reverse();
    const rounds = options.duplicate ? [...events, ...events] : events;
    const delivered = new Set<StripeEventEnvelope>();
    for (const event of rounds) {
      if (await this.attempt(event, false)) delivered.add(event);
    }
    for (const event of events) if (!delivered.has(event)) this.held.push(event);
  }

  /** Resolves when no delivery is under way (scheduled retries excepted). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.held = [];
  }

  private track(delivery: Promise<unknown>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** One delivery attempt; when retry is set, a failure schedules the next attempt. */
  private async attempt(event: StripeEventEnvelope, retry: boolean): Promise<boolean> {
    if (this.closed) return false;
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    this.attempts.set(event.id, attempt);
    const { payload, signature } = signStripeEvent(Stripe, event, this.secret);
    let record: WebhookDelivery;
    try {
      const answer = await this.deliver(payload, signature);
      record = { eventId: event.id, type: event.type, attempt, ok: answer.ok, statusCode: answer.statusCode };
    } catch (error) {
      record = {
        eventId: event.id,
        type: event.type,
        attempt,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      };
    }
    this.record(record);
    if (record.ok) {
      this.attempts.delete(event.id);
      return true;
    }
    if (!retry) return false;
    const delayMs = this.retryDelaysMs[attempt - 1];
    if (delayMs === undefined || this.paused) {
      this.held.push(event);
      return false;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.paused) this.held.push(event);
      else this.track(this.attempt(event, true));
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
    return false;
  }

  private record(delivery: WebhookDelivery): void {
    if (this.deliveries.length >= deliveriesRememberedMax) this.deliveries.shift();
    this.deliveries.push(delivery);
  }
}
