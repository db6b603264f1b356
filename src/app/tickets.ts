// Tickets and check-in. A ticket is a booked seat: it exists from the booking's commit
// (no second write on the sale's hot path), is revoked when its seat is refunded, and is
// admitted once at the door. Its code is signed (domain/ticket-codes.ts).
import { DomainError } from '../domain/errors.ts';
import { seatIdOf } from '../domain/seat-map.ts';
import { parseTicketId, ticketIdOf } from '../domain/ticket-ids.ts';
import type { Deps } from './deps.ts';
import type { BookingRecord } from './ports/bookings.ts';
import type { BookingTickets, TicketView } from './ports/notifications.ts';
import type { TicketRecord } from './ports/tickets.ts';
import { ticketJson } from './views.ts';

/** Who scans: the event's organizer, an admin, or staff whose token lists the event. */
export interface Scanner {
  userId: string;
  role: string;
  staffEvents?: string[];
}

async function ownBooking(deps: Deps, userId: string, bookingId: string): Promise<BookingRecord> {
  const booking = await deps.bookings.findBooking(bookingId);
  if (!booking || booking.userId !== userId) throw new DomainError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
  return booking;
}

/** A booking's tickets with everything printed on them (whoever asks: the caller checked). */
export async function ticketsOf(deps: Deps, booking: BookingRecord): Promise<BookingTickets> {
  const [event, records] = await Promise.all([
    deps.events.findEvent(booking.eventId),
    deps.tickets.ticketsOfBooking(booking.id),
  ]);
  if (!event) throw new Error(`assertion: booking ${booking.id} names no event`);
  const seats = new Map(
    (
      await deps.events.seatDetails(
        booking.eventId,
        records.map((record) => record.seatNo),
      )
    ).map((seat) => [seat.seatNo, seat]),
  );
  return {
    bookingId: booking.id,
    eventName: event.name,
    venueName: event.venue.name,
    venueCity: event.venue.city,
    startsAt: new Date(event.startsAtMs).toISOString(),
    totalCents: booking.totalCents,
    currency: booking.currency,
    tickets: records.map((record) => ticketView(deps, record, seats.get(record.seatNo)!)),
  };
}

function ticketView(
  deps: Deps,
  record: TicketRecord,
  seat: { section: string; row: string; number: number },
): TicketView {
  return {
    ticketId: ticketIdOf(record.bookingId, record.seatNo),
    seatId: seatIdOf(record.seatNo),
    section: seat.section,
    row: seat.row,
    number: seat.number,
    status: record.status,
    code: deps.ticketCodes.sign({ bookingId: record.bookingId, eventId: record.eventId, seatNo: record.seatNo }),
  };
}

/** GET /v1/bookings/{id}/tickets (the owner's). */
export async function myTickets(deps: Deps, userId: string, bookingId: string): Promise<BookingTickets> {
  return ticketsOf(deps, await ownBooking(deps, userId, bookingId));
}

/** GET /v1/bookings/{id}/tickets.pdf (the owner's). */
export async function myTicketsPdf(deps: Deps, userId: string, bookingId: string): Promise<Uint8Array> {
  return deps.documents.ticketsPdf(await myTickets(deps, userId, bookingId));
}

/** GET /v1/tickets/{id}/qr.svg (the owner's). */
export async function myTicketQr(deps: Deps, userId: string, ticketId: string): Promise<string> {
  const named = parseTicketId(ticketId);
  const notFound = () => new DomainError('TICKET_NOT_FOUND', `no ticket ${ticketId}`);
  if (!named) throw notFound();
  const booking = await deps.bookings.findBooking(named.bookingId);
  if (!booking || booking.userId !== userId) throw notFound();
  const record = (await deps.tickets.ticketsOfBooking(booking.id)).find((ticket) => ticket.seatNo === named.seatNo);
  if (!record) throw notFound();
  return deps.documents.qrSvg(deps.ticketCodes.sign(record));
}

/**
 * POST /v1/events/{id}/checkins: admits a ticket of this event once. Forged codes, codes
 * signed with a key no longer listed and another event's codes are TICKET_INVALID; a
 * refunded seat's ticket is TICKET_REVOKED; a second scan says when the first was.
 */
export async function checkIn(deps: Deps, scanner: Scanner, eventId: string, code: string) {
  const event = await deps.events.findEvent(eventId);
  const mayScan =
    event !== null &&
    (scanner.role === 'admin' ||
      (scanner.role === 'organizer' && event.organizerId === scanner.userId) ||
      (scanner.role === 'staff' && (scanner.staffEvents ?? []).includes(event.id)));
  if (!mayScan) throw new DomainError('EVENT_NOT_FOUND', `no event ${eventId} you may check tickets in for`);
  const ticket = deps.ticketCodes.verify(code);
  if (!ticket)
    throw new DomainError('TICKET_INVALID', 'this code is not a ticket of ours (forged, damaged or expired key)');
  if (ticket.eventId !== event.id) throw new DomainError('TICKET_INVALID', 'this ticket is for another event');
  const outcome = await deps.tickets.checkIn({ ...ticket, nowMs: deps.clock.nowMs(), by: scanner.userId });
  const view = async (status: TicketRecord['status'], checkedInAtMs: number | null) => {
    const [seat] = await deps.events.seatDetails(event.id, [ticket.seatNo]);
    const record = { ...ticket, status, checkedInAtMs };
    return { ...ticketJson({ ...ticketView(deps, record, seat!), checkedInAtMs }), booking_id: ticket.bookingId };
  };
  switch (outcome.kind) {
    case 'admitted':
      return { result: 'admitted' as const, ticket: await view('checked_in', outcome.checkedInAtMs) };
    case 'already_checked_in':
      throw new DomainError('ALREADY_CHECKED_IN', 'this ticket was scanned before', {
        checked_in_at: new Date(outcome.checkedInAtMs).toISOString(),
        ticket: await view('checked_in', outcome.checkedInAtMs),
      });
    case 'revoked':
      throw new DomainError('TICKET_REVOKED', 'this ticket was refunded: it is no longer valid', {
        ticket: await view('revoked', null),
      });
    case 'unknown':
      throw new DomainError('TICKET_INVALID', 'this code names no booked seat');
  }
}
