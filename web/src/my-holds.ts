// The buyer's holds still running (GET /v1/me/reservations): what the hold banner, My
// bookings and the event page show, so a hold is never lost from view once the buyer leaves
// checkout. Answers asked for at the same moment share one request.
import { api, ApiError, type Reservation } from './api.ts';
import { h } from './dom.ts';
import { currentSession } from './session.ts';

export interface MyReservation extends Reservation {
  event_name: string;
}

let asking: Promise<MyReservation[]> | null = null;

/** The signed-in buyer's active holds, soonest to end first; [] when signed out. */
export function loadActiveHolds(): Promise<MyReservation[]> {
  if (!currentSession()) return Promise.resolve([]);
  asking ??= api<{ reservations: MyReservation[] }>('/v1/me/reservations?status=active')
    .then(({ reservations }) => reservations.sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at)))
    .finally(() => (asking = null));
  return asking;
}

/** The checkout of a hold. */
export const checkoutPath = (reservationId: string) => `/reservations/${encodeURIComponent(reservationId)}`;

/**
 * USER_SEAT_LIMIT_EXCEEDED as a buyer reads it: how many seats they have, and a link to the
 * hold that takes them (its checkout) when there is one; null for any other error.
 */
export async function seatLimitNotice(error: unknown, eventId: string): Promise<HTMLElement | null> {
  if (!(error instanceof ApiError) || error.code !== 'USER_SEAT_LIMIT_EXCEEDED') return null;
  const problem = error.problem as ApiError['problem'] & { max_seats_per_user?: number; seats_held_or_booked?: number };
  const holds = await loadActiveHolds().catch(() => []);
  const hold = holds.find((reservation) => reservation.event_id === eventId);
  const limit = problem.max_seats_per_user;
  const heldSeats = hold ? hold.seats.length : 0;
  return h(
    'span',
    { 'data-testid': 'seat-limit-notice' },
    `You can have up to ${limit ?? 'a few'} seats of this event`,
    problem.seats_held_or_booked !== undefined ? `, and you already have ${problem.seats_held_or_booked}. ` : '. ',
    hold
      ? h(
          'a',
          { href: checkoutPath(hold.reservation_id), 'data-link': true, 'data-testid': 'seat-limit-hold-link' },
          `Go to your hold of ${heldSeats} seat${heldSeats === 1 ? '' : 's'} to pay for it`,
        )
      : h('a', { href: '/bookings', 'data-link': true }, 'See My bookings'),
    '.',
  );
}
