import { DomainError } from '../domain/errors.ts';
import type { Deps } from './deps.ts';
import type { SeatDetail } from './ports/events.ts';
import type { BookingRecord } from './ports/bookings.ts';
import { bookingView } from './views.ts';

export const myBookingsMax = 200;

export async function getBooking(deps: Deps, userId: string, bookingId: string) {
  const booking = await deps.bookings.findBooking(bookingId);
  if (!booking || booking.userId !== userId) throw new DomainError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
  return viewWithRefunds(deps, booking);
}

/** A booking as its buyer sees it, whoever asks (the caller has checked they may). */
export async function getBookingAs(deps: Deps, bookingId: string) {
  const booking = await deps.bookings.findBooking(bookingId);
  if (!booking) throw new DomainError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
  return viewWithRefunds(deps, booking);
}

async function viewWithRefunds(deps: Deps, booking: BookingRecord) {
  const [seats, refunds] = await Promise.all([
    deps.events.seatDetails(booking.eventId, booking.seatNos),
    booking.status === 'confirmed' ? Promise.resolve([]) : deps.ledger.refundsOfBooking(booking.id),
  ]);
  return bookingView(booking, seats, refunds);
}

export async function listMyBookings(deps: Deps, userId: string) {
  const bookings = await deps.bookings.listBookings(userId, myBookingsMax);
  // One seat query per event, not per booking.
  const seatNosByEvent = new Map<string, number[]>();
  for (const booking of bookings) {
    seatNosByEvent.set(booking.eventId, [...(seatNosByEvent.get(booking.eventId) ?? []), ...booking.seatNos]);
  }
  const seatsByEvent = new Map<string, Map<number, SeatDetail>>();
  for (const [eventId, seatNos] of seatNosByEvent) {
    const seats = await deps.events.seatDetails(eventId, seatNos);
    seatsByEvent.set(eventId, new Map(seats.map((seat) => [seat.seatNo, seat])));
  }
  // Only a booking that gave seats back has refunds (as in viewWithRefunds): most have none to read.
  const refunds = await deps.ledger.refundsOfBookings(
    bookings.filter((booking) => booking.status !== 'confirmed').map((booking) => booking.id),
  );
  const refundsByBooking = new Map<string, typeof refunds>();
  for (const refund of refunds) {
    refundsByBooking.set(refund.bookingId!, [...(refundsByBooking.get(refund.bookingId!) ?? []), refund]);
  }
  return {
    bookings: bookings.map((booking) => {
      const seats = seatsByEvent.get(booking.eventId)!;
      return bookingView(
        booking,
        booking.seatNos.map((seatNo) => seats.get(seatNo)!).sort((a, b) => a.seatNo - b.seatNo),
        refundsByBooking.get(booking.id) ?? [],
      );
    }),
  };
}
