// What happens to money after the charge call: refunds sent (and retried), attempts voided
// at the provider, the provider's webhook events applied once, pending payments reconciled.
//
// Every refund is first a row in the ledger (written in the same transaction as the change
// that makes it due), then sent under its own provider key: a process that dies between
// the two leaves a pending row that the refund job sends later, and the provider dedupes by
// key, so a refund is made once whoever sends it.
import { backoffMs } from '../domain/retry.ts';
import { createHash } from 'node:crypto';
import type { Deps } from './deps.ts';
import type { RefundRecord, SettleOutcome } from './ports/ledger.ts';
import type { ChargeIdentity, ProviderEvent, ProviderPaymentStatus } from './ports/payments.ts';
import type { ReservationRecord } from './ports/reservations.ts';

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * The provider's idempotency key: one per reservation and payment attempt, so whichever
 * confirmation pays (another key, a takeover, a retry), the provider makes one charge.
 */
export function providerKeyFor(reservationId: string, attempt: number): string {
  return sha256(['boxoffice-reservation-payment', reservationId, attempt]);
}

/** What a reservation's attempt is charged with (and found again by, to void it). */
export function chargeIdentity(
  reservation: Pick<ReservationRecord, 'id' | 'totalCents' | 'currency'>,
  attempt: number,
): ChargeIdentity {
  return {
    idempotencyKey: providerKeyFor(reservation.id, attempt),
    amountCents: reservation.totalCents,
    currency: reservation.currency,
    description: `reservation ${reservation.id}`,
    metadata: { reservation_id: reservation.id, attempt: String(attempt) },
  };
}

type PaymentDeps = Pick<Deps, 'ledger' | 'payments' | 'clock' | 'settings' | 'board'>;

/** The wait before a failed refund is tried again: doubling, capped. */
export function refundBackoffMs(attempts: number, settings: Deps['settings']): number {
  return backoffMs(attempts, settings.refundRetry.baseMs, settings.refundRetry.maxMs);
}

/** How long a claimed refund is left to the process that claimed it before another may send it. */
const refundClaimMs = 60_000;

async function send(deps: PaymentDeps, refund: RefundRecord): Promise<RefundRecord['status']> {
  const nowMs = () => deps.clock.nowMs();
  try {
    const outcome = await deps.payments.refund({
      chargeId: refund.chargeId,
      amountCents: refund.amountCents,
      idempotencyKey: refund.providerKey,
      metadata: { refund_id: refund.id, ...(refund.bookingId ? { booking_id: refund.bookingId } : {}) },
    });
    if (outcome.status === 'failed') {
      await deps.ledger.refundFailed(
        refund.id,
        'the provider refused the refund',
        nowMs() + refundBackoffMs(refund.attempts + 1, deps.settings),
        nowMs(),
      );
      return 'failed';
    }
    await deps.ledger.refundSent(refund.id, outcome.refundId, outcome.status, nowMs());
    return outcome.status;
  } catch (error) {
    await deps.ledger.refundFailed(
      refund.id,
      error instanceof Error ? error.message : String(error),
      nowMs() + refundBackoffMs(refund.attempts + 1, deps.settings),
      nowMs(),
    );
    return 'failed';
  }
}

/** Sends one refund now (right after the change that made it due); the job retries it if this fails. */
export async function sendRefund(deps: PaymentDeps, refundId: string): Promise<RefundRecord['status'] | null> {
  const refund = await deps.ledger.claimRefund(refundId, deps.clock.nowMs(), refundClaimMs);
  return refund ? send(deps, refund) : null;
}

/** The refund job: sends every refund that is due (new, or failed and past its backoff). */
export async function sendDueRefunds(deps: PaymentDeps, limit: number): Promise<number> {
  const due = await deps.ledger.claimDueRefunds(deps.clock.nowMs(), refundClaimMs, limit);
  for (const refund of due) await send(deps, refund);
  return due.length;
}

/**
 * Ends an attempt whose outcome is unknown (its payer died, was taken over, or its hold
 * ended while it was pending): refunded in full if it was charged, else voided at the
 * provider so a charge still on its way is refused. The ledger records which.
 * Returns false while the payment is still processing (try again later).
 */
export async function voidAttempt(
  deps: PaymentDeps,
  reservation: Pick<ReservationRecord, 'id' | 'totalCents' | 'currency'>,
  attempt: number,
): Promise<boolean> {
  const outcome = await deps.payments.voidByKey(chargeIdentity(reservation, attempt));
  await deps.ledger.recordVoid(reservation.id, attempt, outcome, deps.clock.nowMs());
  return outcome.kind !== 'processing';
}

const outcomeOfEvent: Partial<Record<ProviderEvent['type'], ProviderPaymentStatus>> = {
  'payment.succeeded': 'succeeded',
  'payment.failed': 'failed',
  'payment.canceled': 'canceled',
  'payment.processing': 'processing',
  'payment.requires_action': 'requires_action',
};

/** Applies what the provider says of one payment; the seats it changes go to the live map. */
async function settle(
  deps: PaymentDeps,
  event: { id: string | null; type: string; chargeId: string; metadata: Record<string, string> },
  outcome: ProviderPaymentStatus,
): Promise<SettleOutcome> {
  const reservationId = event.metadata.reservation_id;
  const attempt = Number(event.metadata.attempt);
  if (!reservationId || !Number.isInteger(attempt)) return { kind: 'unknown' };
  const settled = await deps.ledger.settlePayment({
    eventId: event.id,
    eventType: event.type,
    reservationId,
    attempt,
    chargeId: event.chargeId,
    outcome,
    nowMs: deps.clock.nowMs(),
  });
  if (settled.kind === 'booked' || settled.kind === 'refund' || settled.kind === 'released') {
    if (settled.changes.length > 0) await deps.board.apply(settled.eventId, settled.changes);
  }
  if (settled.kind === 'refund' && settled.refundId) await sendRefund(deps, settled.refundId);
  return settled;
}

/**
 * A provider event: payment events book, release or refund (each event once); refund
 * events confirm or fail a refund the ledger sent. Unknown events are acknowledged and
 * ignored, as the provider expects.
 */
export async function applyProviderEvent(deps: PaymentDeps, event: ProviderEvent): Promise<string> {
  const outcome = outcomeOfEvent[event.type];
  if (outcome && event.chargeId) return (await settle(deps, { ...event, chargeId: event.chargeId }, outcome)).kind;
  if ((event.type === 'refund.succeeded' || event.type === 'refund.failed') && event.metadata.refund_id) {
    const nowMs = deps.clock.nowMs();
    if (event.type === 'refund.succeeded' && event.refundId) {
      await deps.ledger.refundSent(event.metadata.refund_id, event.refundId, 'succeeded', nowMs);
    } else {
      await deps.ledger.refundFailed(event.metadata.refund_id, 'the provider reported the refund failed', nowMs, nowMs);
    }
    return 'recorded';
  }
  return 'ignored';
}

/** POST /v1/payments/webhook: the signature is checked by the provider adapter (throws when bad). */
export async function handleWebhook(deps: PaymentDeps, payload: string, signature: string | undefined) {
  const event = deps.payments.parseWebhook(payload, signature);
  return { event, result: await applyProviderEvent(deps, event) };
}

/**
 * Pending payments the webhooks have said nothing of for a while: the provider is asked,
 * and what it says is applied as a webhook would be.
 */
export async function reconcilePendingPayments(deps: PaymentDeps, quietMs: number, limit: number): Promise<number> {
  const stale = await deps.ledger.stalePendingPayments(deps.clock.nowMs() - quietMs, limit);
  let settled = 0;
  for (const payment of stale) {
    const { status } = await deps.payments.retrieve(payment.chargeId!);
    // Still open: recorded again, so the next reading waits another quiet period.
    await settle(
      deps,
      {
        id: null,
        type: `reconciled.${status}`,
        chargeId: payment.chargeId!,
        metadata: { reservation_id: payment.reservationId, attempt: String(payment.attempt) },
      },
      status,
    );
    if (status !== 'requires_action' && status !== 'processing') settled += 1;
  }
  return settled;
}
