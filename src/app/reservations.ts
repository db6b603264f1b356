// Reading and cancelling a reservation. Someone else's reservation does not exist (404).
import { DomainError } from '../domain/errors.ts';
import type { Deps } from './deps.ts';
import { reservationView } from './views.ts';

export async function requireOwnReservation(deps: Deps, userId: string, reservationId: string) {
  const reservation = await deps.reservations.findReservation(reservationId);
  if (!reservation || reservation.userId !== userId) {
    throw new DomainError('RESERVATION_NOT_FOUND', `no reservation ${reservationId}`);
  }
  return reservation;
}

export async function getReservation(deps: Deps, userId: string, reservationId: string) {
  // The payment first: settle_payment() changes it and the reservation in one commit, so the
  // reservation read after it is at least as new. Read the other way round (or together), a
  // webhook landing between the two reads showed a payment succeeded on a hold still active
  // with no booking (or failed on a hold not yet released), a state that never was.
  const payment = await deps.ledger.latestPayment(reservationId);
  const reservation = await requireOwnReservation(deps, userId, reservationId);
  const seats = await deps.events.seatDetails(reservation.eventId, reservation.seatNos);
  return {
    ...reservationView(reservation, seats, deps.clock.nowMs()),
    ...(payment ? { payment_status: payment.status } : {}),
  };
}

export const myReservationsMax = 50;

/**
 * The user's reservations, newest first, each as getReservation shows it plus its event's
 * name. activeOnly: those still holding seats now (active and before their expiry).
 */
export async function listMyReservations(deps: Deps, userId: string, activeOnly: boolean) {
  const nowMs = deps.clock.nowMs();
  const reservations = await deps.reservations.listUserReservations(userId, {
    ...(activeOnly ? { liveAt: nowMs } : {}),
    limit: myReservationsMax,
  });
  const eventIds = [...new Set(reservations.map((reservation) => reservation.eventId))];
  const events = new Map(
    await Promise.all(eventIds.map(async (eventId) => [eventId, await deps.events.findEvent(eventId)] as const)),
  );
  const items = await Promise.all(
    reservations.map(async (reservation) => {
      const [payment, seats] = await Promise.all([
        deps.ledger.latestPayment(reservation.id),
        deps.events.seatDetails(reservation.eventId, reservation.seatNos),
      ]);
      return {
        ...reservationView(reservation, seats, nowMs),
        event_name: events.get(reservation.eventId)?.name ?? '',
        ...(payment ? { payment_status: payment.status } : {}),
      };
    }),
  );
  return { reservations: items };
}

/** Frees the seats at once. Cancelling an ended hold is a no-op; a confirmed one is refused. */
export async function cancelReservation(deps: Deps, userId: string, reservationId: string): Promise<void> {
  const reservation = await requireOwnReservation(deps, userId, reservationId);
  const outcome = await deps.reservations.cancel(reservation, deps.clock.nowMs());
  if (outcome.kind === 'cancelled') await deps.board.apply(reservation.eventId, outcome.changes);
  if (outcome.kind === 'confirmed') {
    throw new DomainError('RESERVATION_ALREADY_CONFIRMED', 'a confirmed reservation cannot be cancelled', {
      booking_id: reservation.bookingId,
    });
  }
}
