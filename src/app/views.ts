// The API v1 representations (snake_case JSON). Used by routes and by confirm, which
// stores its response under the idempotency key.
import { reservationStatusAt } from '../domain/holds.ts';
import { seatIdOf } from '../domain/seat-map.ts';
import type { BookingRecord, EventRecord, ReservationRecord, SeatCounts, SeatDetail } from './ports.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export function seatView(seat: SeatDetail) {
  return {
    seat_id: seatIdOf(seat.seatNo),
    section: seat.section,
    row: seat.row,
    number: seat.number,
    price_cents: seat.priceCents,
  };
}

export function reservationView(reservation: ReservationRecord, seats: SeatDetail[], nowMs: number) {
  return {
    reservation_id: reservation.id,
    event_id: reservation.eventId,
    status: reservationStatusAt(reservation.status, reservation.expiresAtMs, nowMs),
    created_at: iso(reservation.createdAtMs),
    expires_at: iso(reservation.expiresAtMs),
    seats: seats.map(seatView),
    total_cents: reservation.totalCents,
    currency: reservation.currency,
    booking_id: reservation.bookingId,
  };
}

export function bookingView(booking: BookingRecord, seats: SeatDetail[]) {
  return {
    booking_id: booking.id,
    reservation_id: booking.reservationId,
    event_id: booking.eventId,
    status: 'confirmed' as const,
    seats: seats.map(seatView),
    total_cents: booking.totalCents,
    currency: booking.currency,
    created_at: iso(booking.createdAtMs),
  };
}

export function eventSummaryView(event: EventRecord) {
  const prices = event.priceTiers.map((tier) => tier.price_cents);
  return {
    event_id: event.id,
    name: event.name,
    category: event.category,
    starts_at: iso(event.startsAtMs),
    venue: event.venue,
    sale_opens_at: iso(event.saleOpensAtMs),
    seat_count: event.seatCount,
    currency: event.currency,
    price_from_cents: Math.min(...prices),
    price_to_cents: Math.max(...prices),
  };
}

export function eventDetailView(event: EventRecord, counts: SeatCounts, nowMs: number) {
  return {
    ...eventSummaryView(event),
    organizer_id: event.organizerId,
    max_seats_per_user: event.maxSeatsPerUser,
    on_sale: nowMs >= event.saleOpensAtMs,
    price_tiers: event.priceTiers,
    sections: event.sections,
    counts,
    created_at: iso(event.createdAtMs),
  };
}
