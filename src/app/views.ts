// The API v1 representations (snake_case JSON). Used by routes and by confirm, which
// stores its response under the idempotency key.
import { reservationStatusAt } from '../domain/holds.ts';
import { seatIdOf, seatIdScheme } from '../domain/seat-map.ts';
import { waitingRoomView } from '../domain/waiting-room.ts';
import type { BookingRecord } from './ports/bookings.ts';
import type { PerformerRecord, VenueRecord } from './ports/catalog.ts';
import type { EventRecord, SeatCounts, SeatDetail } from './ports/events.ts';
import type { RefundRecord } from './ports/ledger.ts';
import type { BookingTickets, TicketView } from './ports/notifications.ts';
import type { ReservationRecord } from './ports/reservations.ts';

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

export function bookingView(booking: BookingRecord, seats: SeatDetail[], refunds: RefundRecord[] = []) {
  return {
    booking_id: booking.id,
    reservation_id: booking.reservationId,
    event_id: booking.eventId,
    status: booking.status,
    seats: seats.map(seatView),
    total_cents: booking.totalCents,
    currency: booking.currency,
    created_at: iso(booking.createdAtMs),
    refunds: refunds.map(refundView),
  };
}

export function refundView(refund: RefundRecord) {
  return {
    refund_id: refund.id,
    amount_cents: refund.amountCents,
    fee_cents: refund.feeCents,
    seat_ids: refund.seatNos.map(seatIdOf),
    reason: refund.reason,
    // A refund that failed is retried: to the buyer it is still on its way.
    status: refund.status,
    created_at: iso(refund.createdAtMs),
  };
}

export function eventSummaryView(event: EventRecord) {
  return {
    event_id: event.id,
    name: event.name,
    category: event.category,
    status: event.status,
    starts_at: iso(event.startsAtMs),
    venue: { venue_id: event.venueId, name: event.venue.name, city: event.venue.city },
    performers: event.performers.map((performer) => ({ performer_id: performer.id, name: performer.name })),
    sale_opens_at: iso(event.saleOpensAtMs),
    seat_count: event.seatCount,
    // For the event list's "Waiting room" badge; the settings in full are in the detail.
    waiting_room_enabled: event.waitingRoom.enabled,
    currency: event.currency,
    price_from_cents: event.priceMinCents,
    price_to_cents: event.priceMaxCents,
  };
}

/**
 * An event in full. organizer_id (the identity provider's subject of its organizer,
 * possibly an e-mail address) only in the organizer's own answers.
 */
export function eventDetailView(event: EventRecord, counts: SeatCounts, nowMs: number, forOrganizer: boolean) {
  return {
    ...eventSummaryView(event),
    ...(forOrganizer ? { organizer_id: event.organizerId } : {}),
    description: event.description,
    max_seats_per_user: event.maxSeatsPerUser,
    max_seats_per_card: event.maxSeatsPerCard,
    waiting_room: waitingRoomView(event.waitingRoom),
    refund_policy: event.refundPolicy && {
      buyer_cancel_until_hours: event.refundPolicy.buyerCancelUntilHours,
      fee_percent: event.refundPolicy.feePercent,
    },
    on_sale: nowMs >= event.saleOpensAtMs,
    price_tiers: event.priceTiers,
    sections: event.sections,
    seat_ids: seatIdScheme,
    counts,
    created_at: iso(event.createdAtMs),
    updated_at: iso(event.updatedAtMs),
  };
}

// A venue or performer as anyone reads it: without organizer_id, the identity provider's
// subject of its organizer (possibly an e-mail address). Their organizer's own answers
// (create, edit, their lists) add it.

export function venueView(venue: VenueRecord) {
  return {
    venue_id: venue.id,
    name: venue.name,
    city: venue.city,
    address: venue.address,
    latitude: venue.latitude,
    longitude: venue.longitude,
    capacity: venue.capacity,
    created_at: iso(venue.createdAtMs),
    updated_at: iso(venue.updatedAtMs),
  };
}

export function ownVenueView(venue: VenueRecord) {
  return { ...venueView(venue), organizer_id: venue.organizerId };
}

export function performerView(performer: PerformerRecord) {
  return {
    performer_id: performer.id,
    name: performer.name,
    created_at: iso(performer.createdAtMs),
    updated_at: iso(performer.updatedAtMs),
  };
}

export function ownPerformerView(performer: PerformerRecord) {
  return { ...performerView(performer), organizer_id: performer.organizerId };
}

export function ticketJson(ticket: TicketView & { checkedInAtMs?: number | null }) {
  return {
    ticket_id: ticket.ticketId,
    seat_id: ticket.seatId,
    section: ticket.section,
    row: ticket.row,
    number: ticket.number,
    status: ticket.status,
    code: ticket.code,
    ...(ticket.checkedInAtMs === undefined
      ? {}
      : { checked_in_at: ticket.checkedInAtMs === null ? null : iso(ticket.checkedInAtMs) }),
  };
}

export function bookingTicketsJson(booking: BookingTickets) {
  return {
    booking_id: booking.bookingId,
    event: { name: booking.eventName, venue: booking.venueName, city: booking.venueCity, starts_at: booking.startsAt },
    tickets: booking.tickets.map((ticket) => ticketJson(ticket)),
  };
}
