// Pay for a held reservation and turn it into a booking, exactly once per Idempotency-Key.
//
// The story: own the reservation → claim the key (or replay what it answered) → check the
// hold is still live → charge (the provider dedupes by the same key) → in one transaction
// move the seats to booked, write the booking and store the answer under the key. If the
// hold was lost while paying (expired, re-held by someone else: the fencing token no
// longer matches), the charge is refunded and the answer is 410.
import { createHash } from 'node:crypto';
import { DomainError } from '../domain/errors.ts';
import { reservationStatusAt } from '../domain/holds.ts';
import type { Deps } from './deps.ts';
import type { IdempotencyKeyRef, ReservationRecord, StoredResponse } from './ports.ts';
import { requireOwnReservation } from './reservations.ts';
import { bookingView } from './views.ts';

export interface ConfirmInput {
  userId: string;
  reservationId: string;
  paymentMethod: string;
  idempotencyKey: string | undefined;
}

export interface ConfirmResult {
  booking: Record<string, unknown>;
  /** True when this answer was stored by an earlier request with the same key. */
  replayed: boolean;
}

export const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

export async function confirmReservation(deps: Deps, input: ConfirmInput): Promise<ConfirmResult> {
  const key = input.idempotencyKey;
  if (key === undefined || !idempotencyKeyPattern.test(key)) {
    throw new DomainError(
      'IDEMPOTENCY_KEY_REQUIRED',
      'send an Idempotency-Key header of 1 to 255 visible ASCII characters',
    );
  }
  const reservation = await requireOwnReservation(deps, input.userId, input.reservationId);
  const ref: IdempotencyKeyRef = { userId: input.userId, key };
  const requestHash = createHash('sha256')
    .update(JSON.stringify(['confirm', input.reservationId, input.paymentMethod]))
    .digest('hex');
  const claim = await deps.store.claimIdempotencyKey(
    ref,
    requestHash,
    deps.clock.nowMs(),
    deps.settings.idempotencyInFlightStaleMs,
  );
  switch (claim.kind) {
    case 'mismatch':
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request');
    case 'in_flight':
      throw new DomainError(
        'IDEMPOTENCY_KEY_IN_FLIGHT',
        'a request with this Idempotency-Key is still being processed',
      );
    case 'replay':
      return answer(claim.response, true);
    case 'claimed':
      break;
  }
  try {
    return answer(await confirmClaimed(deps, reservation, input.paymentMethod, ref), false);
  } catch (error) {
    // Unexpected failure: free the key so the client's retry can run (and, since the
    // provider dedupes by key, cannot charge twice).
    await deps.store.releaseIdempotencyKey(ref).catch(() => {});
    throw error;
  }
}

function answer(response: StoredResponse, replayed: boolean): ConfirmResult {
  if (response.kind === 'error') {
    throw new DomainError(response.code as DomainError['code'], response.detail, { ...response.extensions, replayed });
  }
  return { booking: response.body, replayed };
}

type Refusal = Extract<StoredResponse, { kind: 'error' }>;

function refusal(code: DomainError['code'], detail: string, extensions: Record<string, unknown> = {}): Refusal {
  return { kind: 'error', code, detail, extensions };
}

function refusalFor(status: ReturnType<typeof reservationStatusAt>, reservation: ReservationRecord): Refusal | null {
  switch (status) {
    case 'expired':
      return refusal('RESERVATION_EXPIRED', 'the hold on these seats has ended; hold them again to buy');
    case 'cancelled':
      return refusal('RESERVATION_CANCELLED', 'this reservation was cancelled');
    case 'confirmed':
      return refusal('RESERVATION_ALREADY_CONFIRMED', 'this reservation is already confirmed', {
        booking_id: reservation.bookingId,
      });
    case 'active':
      return null;
  }
}

/** Runs with the key claimed; every ending is stored under the key before it is returned. */
async function confirmClaimed(
  deps: Deps,
  reservation: ReservationRecord,
  paymentMethod: string,
  ref: IdempotencyKeyRef,
) {
  const finish = async (response: StoredResponse) => {
    await deps.store.completeIdempotencyKey(ref, response);
    return response;
  };
  const before = refusalFor(
    reservationStatusAt(reservation.status, reservation.expiresAtMs, deps.clock.nowMs()),
    reservation,
  );
  if (before) return finish(before);

  const seats = await deps.store.seatDetails(reservation.eventId, reservation.seatNos);
  const charge = await deps.payments.charge({
    idempotencyKey: `${ref.userId}:${ref.key}`,
    amountCents: reservation.totalCents,
    currency: reservation.currency,
    paymentMethod,
    description: `reservation ${reservation.id}`,
  });
  if (charge.kind === 'declined') {
    return finish(
      refusal('PAYMENT_DECLINED', charge.reason, {
        reservation_expires_at: new Date(reservation.expiresAtMs).toISOString(),
      }),
    );
  }
  let outcome;
  try {
    outcome = await deps.store.confirm({
      reservation,
      nowMs: deps.clock.nowMs(),
      chargeId: charge.chargeId,
      idempotency: ref,
      responseFor: (booking) => ({ kind: 'booking', body: bookingView(booking, seats) }),
    });
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    await deps.payments.refund(charge.chargeId);
    return finish(refusal(error.code, error.message, { ...error.extensions, refunded: true }));
  }
  if (outcome.kind === 'confirmed') return outcome.response;
  await deps.payments.refund(charge.chargeId);
  const after =
    refusalFor(outcome.status, reservation) ?? refusal('RESERVATION_EXPIRED', 'the hold ended while paying');
  return finish({ ...after, extensions: { ...after.extensions, refunded: true } });
}
