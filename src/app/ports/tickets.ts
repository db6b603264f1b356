import type { TicketIdentity } from '../../domain/ticket-ids.ts';

// Tickets: a ticket is a booked seat. Its state comes from the booking (valid while the
// booking holds the seat), refunded_seats (revoked) and check-ins (once per ticket).

export interface TicketRecord {
  bookingId: string;
  eventId: string;
  seatNo: number;
  status: 'valid' | 'revoked' | 'checked_in';
  checkedInAtMs: number | null;
}

export type CheckInOutcome =
  | { kind: 'admitted'; checkedInAtMs: number }
  | { kind: 'already_checked_in'; checkedInAtMs: number }
  | { kind: 'revoked' }
  /** No booked seat by that name (a code signed by us always names one; kept for safety). */
  | { kind: 'unknown' };

export interface TicketStore {
  /** Every ticket the booking ever had (its seats now, and the ones taken back). */
  ticketsOfBooking(bookingId: string): Promise<TicketRecord[]>;
  /** Admits the ticket once: concurrent scans of one ticket admit exactly one. */
  checkIn(input: {
    bookingId: string;
    eventId: string;
    seatNo: number;
    nowMs: number;
    by: string;
  }): Promise<CheckInOutcome>;
  /** The ticket signing key kept in the database (made once when first asked). */
  storedSigningSecret(): Promise<string>;
}

/** Signs and checks ticket codes (what a ticket's QR carries). */
export interface TicketCodes {
  sign(ticket: TicketIdentity): string;
  /** The ticket a code names, or null: malformed, forged, or signed with a key no longer listed. */
  verify(code: string): TicketIdentity | null;
}
