// Pay for a held reservation and turn it into a booking, exactly once per Idempotency-Key.
//
// The story: own the reservation → claim the key under a lease (or replay what it
// answered) → check the hold is still live and the event not cancelled → mark the hold
// as being paid (so a second key cannot charge too; taking over a stale payer starts a new
// payment attempt) → charge (the provider dedupes by a key derived from the reservation
// and the attempt) → record the charge → in one transaction, if the lease still stands,
// this payer and attempt are still the reservation's and the event is still on sale: move
// the seats to booked, write the booking and store the answer. Otherwise the refusal is
// stored under the key and the charge refunded (410 hold lost, 409 event cancelled or
// payment taken over).
//
// Only the lease holder stores an answer, a charge is refunded only after its refusal was
// stored under the lease, and never when it is the charge that paid for the booking, so a
// booking keeps its charge whatever processes die or time out. Refunds that fail, and
// charges a dead or too-slow request made, are caught by settleRefunds (run by the
// sweeper): every attempt of a reservation but the one that booked is refunded, or voided
// at the provider if its charge has not arrived yet.
//
// An event may limit the seats one card pays for (max_seats_per_card), whatever the accounts:
// then, and only then, the provider is asked for the card's fingerprint before the hold is
// marked as being paid, and the card's seats are counted and the hold recorded as its, under
// one lock, in that same step (begin_confirmation.sql). Over the limit: 409, nothing charged,
// the hold kept for another card.
import { createHash, randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors.ts';
import { reservationStatusAt, type ReservationStatus } from '../domain/holds.ts';
import type { Deps } from './deps.ts';
import type { BeginConfirmation, ConfirmRefusalReason } from './ports/bookings.ts';
import type { StoredResponse } from './ports/idempotency.ts';
import type { ChargeOutcome } from './ports/payments.ts';
import type { ReservationRecord } from './ports/reservations.ts';
import { admissionRequired, admittedEvent, finishShopping } from './waiting-room.ts';
import { chargeIdentity, providerKeyFor, sendRefund, voidAttempt } from './payments.ts';
import { getBooking } from './bookings.ts';
import { bookingView } from './views.ts';

export { providerKeyFor };

export interface ConfirmInput {
  userId: string;
  reservationId: string;
  paymentMethod: string;
  idempotencyKey: string | undefined;
  /** The waiting room's admission token (needed when the event has one). */
  admissionToken?: string;
  /** The buyer's address (the sign-in token's email claim): tickets and notices go there. */
  email?: string | null;
}

export interface ConfirmResult {
  /** The booking, or (pending) the reservation with its payment's state. */
  booking: Record<string, unknown>;
  /** True when this answer was stored by an earlier request with the same key. */
  replayed: boolean;
  /** The payment is pending at the provider (202): its webhook books or releases. */
  pending?: boolean;
}

export const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

function confirmRequestHash(reservationId: string, paymentMethod: string): string {
  return sha256(['confirm', reservationId, paymentMethod]);
}

/** Names the confirming request (user, key, body) unambiguously: a user id may hold ':'. */
function payerKeyFor(userId: string, key: string, requestHash: string): string {
  return sha256(['boxoffice-payer', userId, key, requestHash]);
}

export async function confirmReservation(deps: Deps, input: ConfirmInput): Promise<ConfirmResult> {
  const key = input.idempotencyKey;
  if (key === undefined || !idempotencyKeyPattern.test(key)) {
    throw new DomainError(
      'IDEMPOTENCY_KEY_REQUIRED',
      'send an Idempotency-Key header of 1 to 255 visible ASCII characters',
    );
  }
  const requestHash = confirmRequestHash(input.reservationId, input.paymentMethod);
  const payerKey = payerKeyFor(input.userId, key, requestHash);
  const admittedEventId = await admittedEvent(deps, input.userId, input.admissionToken);
  const lease = randomUUID();
  const begin = (cardFingerprint: string | null) =>
    deps.bookings.beginConfirmation({
      reservationId: input.reservationId,
      userId: input.userId,
      key,
      requestHash,
      lease,
      payerKey,
      admittedEventId,
      email: input.email ?? null,
      cardFingerprint,
      nowMs: deps.clock.nowMs(),
      staleAfterMs: deps.settings.idempotencyInFlightStaleMs,
    });
  // One round trip (shared with other requests' in a batch): ownership, admission, the key,
  // and the hold marked as being paid. An event with a limit per card answers 'card_needed'
  // first (nothing claimed): the card is asked for, and the same step runs again with it.
  let begun = await begin(null);
  if (begun.kind === 'card_needed') begun = await begin(await cardFingerprintOf(deps, input.paymentMethod));
  switch (begun.kind) {
    case 'not_found':
      throw new DomainError('RESERVATION_NOT_FOUND', `no reservation ${input.reservationId}`);
    case 'admission_required':
      throw admissionRequired(begun.eventId, input.admissionToken);
    case 'mismatch':
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request');
    case 'in_flight':
      throw inFlight();
    case 'replay':
      return replay(deps, input.userId, begun.response);
    case 'busy':
      // Another confirmation (another key) is paying for this hold right now. Nothing is
      // stored: this key may be retried once that payment has ended.
      throw new DomainError('PAYMENT_IN_PROGRESS', 'another confirmation of this reservation is being paid right now');
    case 'card_needed':
      throw new Error('begin_confirmation() asked for the card it was given'); // a programmer error
    case 'card_limit':
      // Nothing charged or stored: the hold stays, another card (another key) may pay for it,
      // and this request may be tried again once the card has room (a refund frees seats).
      throw new DomainError(
        'CARD_LIMIT_REACHED',
        `this event sells at most ${begun.limit} seats per payment card; this card has ${begun.cardSeats} ` +
          `(booked, or being paid for), and this reservation has ${begun.reservationSeats}`,
        {
          max_seats_per_card: begun.limit,
          card_seats: begun.cardSeats,
          reservation_seats: begun.reservationSeats,
        },
      );
    case 'booked': {
      // The charge this key made booked after its first holder stopped (the webhook did it).
      const response: StoredResponse = {
        kind: 'booking',
        body: await getBooking(deps, input.userId, begun.bookingId),
      };
      if (!(await deps.idempotency.completeIdempotencyKey(begun.lease, response))) throw inFlight();
      return answer(response, false);
    }
    case 'refuse':
    case 'started':
      break;
  }
  try {
    const response = await confirmClaimed(deps, begun, payerKey, input.paymentMethod);
    if (response.kind === 'booking' && begun.waitingRoom) {
      await finishShopping(deps, begun.reservation.eventId, input.userId);
    }
    return answer(response, false);
  } catch (error) {
    if (!(error instanceof DomainError)) {
      // Unexpected failure: a retry of the same request may take the key over at once
      // (and, since the provider dedupes by key, cannot charge twice).
      await deps.idempotency.abandonIdempotencyKey(begun.lease).catch(() => {});
    }
    throw error;
  }
}

/** How long a buyer is asked to wait when the provider could not be asked about the card. */
const providerRetryAfterMs = 5_000;

/** The card's fingerprint from the provider; the limit is never skipped when it cannot answer. */
async function cardFingerprintOf(deps: Deps, paymentMethod: string): Promise<string> {
  let card;
  try {
    card = await deps.payments.cardOf(paymentMethod);
  } catch {
    throw new DomainError(
      'PAYMENT_PROVIDER_UNAVAILABLE',
      'the payment provider could not be asked about this card (this event limits seats per card); ' +
        'nothing was charged and the hold is kept: try again',
      {},
      { retryAfterMs: providerRetryAfterMs },
    );
  }
  // A method the provider does not know would be declined by the charge: said now, nothing stored.
  if (card.kind === 'unknown') throw new DomainError('PAYMENT_DECLINED', card.reason);
  return card.fingerprint;
}

function inFlight() {
  return new DomainError('IDEMPOTENCY_KEY_IN_FLIGHT', 'a request with this Idempotency-Key is still being processed');
}

function answer(response: StoredResponse, replayed: boolean): ConfirmResult {
  if (response.kind === 'error') {
    throw new DomainError(response.code as DomainError['code'], response.detail, { ...response.extensions, replayed });
  }
  return { booking: response.body, replayed, ...(response.kind === 'pending' ? { pending: true } : {}) };
}

/**
 * A stored answer again. A pending payment has moved on since: the answer is its state
 * now (the booking once the webhook booked, a decline once the bank said no).
 */
async function replay(deps: Deps, userId: string, response: StoredResponse): Promise<ConfirmResult> {
  if (response.kind !== 'pending') return answer(response, true);
  const [payment, reservation] = await Promise.all([
    deps.ledger.payment(response.reservationId, response.attempt),
    deps.reservations.findReservation(response.reservationId),
  ]);
  if (reservation?.bookingId && payment?.status === 'succeeded') {
    return { booking: await getBooking(deps, userId, reservation.bookingId), replayed: true };
  }
  if (payment?.status === 'failed' || payment?.status === 'voided') {
    throw new DomainError('PAYMENT_DECLINED', 'the payment was not completed; the hold on these seats has ended', {
      replayed: true,
    });
  }
  if (payment?.status === 'succeeded') {
    throw new DomainError('RESERVATION_EXPIRED', 'the hold on these seats ended before the payment completed', {
      refunded: true,
      replayed: true,
    });
  }
  return answer(response, true);
}

type Refusal = Extract<StoredResponse, { kind: 'error' }>;

function refusal(code: DomainError['code'], detail: string, extensions: Record<string, unknown> = {}): Refusal {
  return { kind: 'error', code, detail, extensions };
}

const eventCancelled = (extra: Record<string, unknown>) =>
  refusal('EVENT_CANCELLED', 'this event is cancelled: its seats are no longer sold', extra);

function refusalFor(
  status: ReservationStatus | ConfirmRefusalReason,
  reservation: ReservationRecord,
  refunded: boolean,
): Refusal {
  const extra = refunded ? { refunded: true } : {};
  switch (status) {
    case 'event_cancelled':
      return eventCancelled(extra);
    case 'superseded':
      return refusal(
        'PAYMENT_IN_PROGRESS',
        'another confirmation of this reservation took its payment over; this request did not book',
        extra,
      );
    case 'expired':
    case 'active': // only reached when the hold was lost while its row still says active
      return refusal('RESERVATION_EXPIRED', 'the hold on these seats has ended; hold them again to buy', extra);
    case 'cancelled':
      return refusal('RESERVATION_CANCELLED', 'this reservation was cancelled', extra);
    case 'confirmed':
      return refusal('RESERVATION_ALREADY_CONFIRMED', 'this reservation is already confirmed', {
        booking_id: reservation.bookingId,
        ...extra,
      });
  }
}

/** Runs with the key claimed; every ending is stored under the lease before it is returned. */
async function confirmClaimed(
  deps: Deps,
  begun: Extract<BeginConfirmation, { kind: 'refuse' | 'started' }>,
  payerKey: string,
  paymentMethod: string,
): Promise<StoredResponse> {
  const { lease, reservation } = begun;
  /** Stores the answer if the lease still stands (a refund or void comes only after). */
  const finish = async (response: StoredResponse) => {
    if (!(await deps.idempotency.completeIdempotencyKey(lease, response))) throw inFlight();
    return response;
  };

  if (begun.kind === 'refuse') {
    // An earlier holder of this key may have charged before it died: that attempt's
    // charge (the provider dedupes by key: one at most) is refunded, or its key voided.
    // When the ledger already knows that attempt's end, the answer says it: a bank's
    // decline is 402 (as the 202's replay would say), and nothing charged is no refund.
    const earlier = begun.refundableAttempt;
    const ended = earlier === null ? null : (await deps.ledger.payment(reservation.id, earlier))?.status;
    const response = await finish(
      ended === 'failed'
        ? refusal('PAYMENT_DECLINED', 'the payment was not completed; the hold on these seats has ended')
        : refusalFor(begun.reason, reservation, earlier !== null && ended !== 'voided'),
    );
    if (earlier !== null) await voidAttempt(deps, reservation, earlier);
    return response;
  }

  const payment = { payerKey, attempt: begun.attempt };
  const payAndBook = async (): Promise<StoredResponse> => {
    const charge = await deps.payments.charge({ ...chargeIdentity(reservation, begun.attempt), paymentMethod });
    if (charge.kind === 'declined') {
      await deps.bookings.endDeclinedPayment(
        reservation.id,
        payerKey,
        begun.attempt,
        charge.chargeId ?? null,
        deps.clock.nowMs(),
      );
      // A charge that reached the provider after the hold ended finds its key voided (see
      // settleRefunds): the buyer is told the hold ended, not that the card was declined.
      const status = reservationStatusAt(reservation.status, reservation.expiresAtMs, deps.clock.nowMs());
      if (status !== 'active') return finish(refusalFor(status, reservation, false));
      return finish(
        refusal('PAYMENT_DECLINED', charge.reason, {
          reservation_expires_at: new Date(reservation.expiresAtMs).toISOString(),
        }),
      );
    }
    if (charge.kind === 'pending') return pending(charge);
    let outcome;
    try {
      // One round trip (shared in a batch): the charge, the booking and the answer.
      outcome = await deps.bookings.confirm({
        reservation,
        nowMs: deps.clock.nowMs(),
        chargeId: charge.chargeId,
        cardFingerprint: charge.cardFingerprint ?? null,
        lease,
        payment,
        responseFor: (booking) => ({ kind: 'booking', body: bookingView(booking, begun.seats) }),
        refusalFor: (lostStatus) => refusalFor(lostStatus, reservation, true),
      });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // Nothing was written: the charge is refunded by its key (the ledger records it).
      const response = await finish(refusal(error.code, error.message, { ...error.extensions, refunded: true }));
      await voidAttempt(deps, reservation, begun.attempt);
      return response;
    }
    if (outcome.kind !== 'lease_lost') await deps.board.apply(reservation.eventId, outcome.changes);
    switch (outcome.kind) {
      case 'confirmed':
        return outcome.response;
      case 'lease_lost':
        // The request that took the key over finishes with the same (deduped) charge.
        throw inFlight();
      case 'hold_lost':
        // Its refund was written with the refusal; sent now (the refund job retries it).
        if (outcome.refundId) await sendRefund(deps, outcome.refundId);
        return outcome.response;
    }
  };

  /** The bank asks the buyer for a step, or the payment is still processing: 202. */
  const pending = async (charge: Extract<ChargeOutcome, { kind: 'pending' }>): Promise<StoredResponse> => {
    const nowMs = deps.clock.nowMs();
    const untilMs = Math.max(reservation.expiresAtMs, nowMs + deps.settings.paymentPendingGraceMs);
    const response: StoredResponse = {
      kind: 'pending',
      reservationId: reservation.id,
      attempt: begun.attempt,
      body: {
        reservation_id: reservation.id,
        status: 'payment_pending',
        expires_at: new Date(untilMs).toISOString(),
        payment: {
          payment_id: charge.chargeId,
          status: charge.status,
          ...(charge.clientSecret ? { client_secret: charge.clientSecret } : {}),
          ...(charge.nextAction ? { next_action: charge.nextAction } : {}),
        },
      },
    };
    const recorded = await deps.ledger.recordPending({
      lease,
      reservationId: reservation.id,
      payerKey,
      attempt: begun.attempt,
      chargeId: charge.chargeId,
      status: charge.status,
      cardFingerprint: charge.cardFingerprint ?? null,
      nowMs,
      untilMs,
      response,
    });
    switch (recorded.kind) {
      case 'pending':
        await deps.board.apply(reservation.eventId, recorded.changes);
        return response;
      case 'lease_lost':
        throw inFlight();
      case 'booked': {
        // The provider's webhook overtook this answer and booked with this charge.
        const found = await deps.reservations.findReservation(reservation.id);
        return finish({ kind: 'booking', body: await getBooking(deps, reservation.userId, found!.bookingId!) });
      }
      case 'hold_lost': {
        const status = reservationStatusAt(reservation.status, reservation.expiresAtMs, nowMs);
        const response = await finish(refusalFor(status === 'active' ? 'superseded' : status, reservation, true));
        await voidAttempt(deps, reservation, begun.attempt);
        return response;
      }
    }
  };
  try {
    return await payAndBook();
  } catch (error) {
    if (!(error instanceof DomainError)) {
      // An unexpected failure ended this payer's part, its charge call answered or given
      // up: the next payer goes on under the same attempt, so the provider keeps one charge.
      await deps.bookings.releasePayment(reservation.id, payerKey, begun.attempt).catch(() => {});
    }
    throw error;
  }
}

/**
 * Refunds every charge of reservations that ended (cancelled or expired) without a
 * booking, and every attempt before the paying one of a confirmed reservation (a payer
 * that was taken over). By provider key: a charge that has not reached the provider yet
 * (a paused process, a slow network) finds its key voided and is refused, so none can
 * land after the settlement unseen. Runs after the stale window, so a payer still working
 * on a live hold is not cut short. Refunds are idempotent: two processes settling the same
 * reservation do no harm.
 */
export async function settleRefunds(
  deps: Pick<Deps, 'bookings' | 'ledger' | 'payments' | 'clock' | 'settings' | 'board'>,
  batchSize: number,
): Promise<number> {
  const due = await deps.bookings.reservationsToSettle(
    deps.clock.nowMs() - deps.settings.idempotencyInFlightStaleMs,
    batchSize,
  );
  for (const reservation of due) {
    // The attempts whose outcome the ledger does not know; the one that booked is known.
    let settled = true;
    for (const payment of await deps.ledger.openAttempts(reservation.id, null)) {
      const identity = { id: reservation.id, totalCents: payment.amountCents, currency: payment.currency };
      if (!(await voidAttempt(deps, identity, payment.attempt))) settled = false;
    }
    if (settled) await deps.bookings.markRefundsSettled(reservation.id);
  }
  return due.length;
}
