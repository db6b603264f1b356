import { DomainError } from '../domain/errors.ts';
import type { Deps } from './deps.ts';
import { bookingView } from './views.ts';

export const myBookingsMax = 200;

export async function getBooking(deps: Deps, userId: string, bookingId: string) {
  const booking = await deps.store.findBooking(bookingId);
  if (!booking || booking.userId !== userId) throw new DomainError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
  return bookingView(booking, await deps.store.seatDetails(booking.eventId, booking.seatNos));
}

export async function listMyBookings(deps: Deps, userId: string) {
  const bookings = await deps.store.listBookings(userId, myBookingsMax);
  const views = [];
  for (const booking of bookings) {
    views.push(bookingView(booking, await deps.store.seatDetails(booking.eventId, booking.seatNos)));
  }
  return { bookings: views };
}
