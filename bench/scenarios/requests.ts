// The requests of the hold and purchase scenarios: who asks for which seats, and the hold and
// confirm requests themselves.
import { seatId } from '../fixtures.ts';
import type { FlowOptions, LoadRequest } from '../load.ts';
import { paymentMethod } from './settings.ts';

export const holdHeaders = (token: string) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});
export const holdRequest = (eventId: string, headers: Record<string, string>, seatNos: number[]): LoadRequest => ({
  method: 'POST',
  path: `/v1/events/${eventId}/reservations`,
  headers,
  body: JSON.stringify({ seat_ids: seatNos.map(seatId) }),
});

/** Uncontended pattern: request i holds 1 seat when i is even, 2 when odd, never a seat used before. */
export const uncontendedSeats = (index: number) => {
  const first = index + Math.floor(index / 2);
  return index % 2 === 0 ? [first] : [first, first + 1];
};
/** The most requests the uncontended pattern can send on an event of this many seats. */
export const uncontendedBudget = (seats: number) => Math.floor((2 * seats) / 3);

export function reservationIdOf(body: string): string {
  return (JSON.parse(body) as { reservation_id: string }).reservation_id;
}

export const confirmRequest = (
  reservationId: string,
  headers: Record<string, string>,
  idempotencyKey: string,
): LoadRequest => ({
  method: 'POST',
  path: `/v1/reservations/${encodeURIComponent(reservationId)}/confirm`,
  headers: { ...headers, 'idempotency-key': idempotencyKey },
  body: JSON.stringify({ payment_method: paymentMethod }),
});

export const purchaseSteps = ['hold', 'confirm'] as const;

/**
 * Purchase iteration i (counted from `offset`): hold the uncontended pattern's seats of i as
 * user i mod users, then, once that answered 201, confirm the reservation as the same user
 * with the Idempotency-Key `${keyPrefix}-${i}`, used by no other request.
 */
export function purchaseRequests(
  eventId: string,
  headers: Record<string, string>[],
  offset: number,
  keyPrefix: string,
  reservationOf: Map<number, string>,
): FlowOptions['makeRequest'] {
  return (index, step, previous) => {
    const n = offset + index;
    const user = headers[n % headers.length]!;
    if (step === 0) return holdRequest(eventId, user, uncontendedSeats(n));
    const reservationId = reservationOf.get(index);
    if (previous?.status !== 201 || reservationId === undefined) return null;
    return confirmRequest(reservationId, user, `${keyPrefix}-${n}`);
  };
}
