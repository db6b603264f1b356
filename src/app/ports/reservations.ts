// Reservations: holds on seats, until they are confirmed, cancelled or expire. Times are
// epoch milliseconds.
import type { ReservationStatus } from '../../domain/holds.ts';
import type { SeatDetail, SeatState } from './events.ts';

export interface ReservationRecord {
  id: string;
  eventId: string;
  userId: string;
  /** As stored; see reservationStatusAt for what a client sees. */
  status: ReservationStatus;
  fencingToken: number;
  seatNos: number[];
  totalCents: number;
  currency: string;
  createdAtMs: number;
  expiresAtMs: number;
  bookingId: string | null;
}

export interface HoldCommand {
  reservationId: string;
  eventId: string;
  userId: string;
  seatNos: number[];
  nowMs: number;
  expiresAtMs: number;
  maxSeatsPerUser: number;
  currency: string;
}

export type HoldOutcome =
  | { kind: 'held'; reservation: ReservationRecord; seats: SeatDetail[]; changes: SeatState[] }
  | { kind: 'conflict'; seatNos: number[] }
  | { kind: 'user_limit'; heldOrBooked: number };

export type CancelOutcome =
  { kind: 'cancelled'; changes: SeatState[] } | { kind: 'confirmed' } | { kind: 'already_ended' };

/** What one sweep ended: the reservations, and the seats it freed, per event. */
export interface ExpiredHolds {
  ended: number;
  changes: Map<string, SeatState[]>;
}

/**
 * PostgreSQL (or PGlite): the judge of every seat. A hold is decided by hold_seats()
 * (migrations/functions/hold_seats.sql), in one statement.
 */
export interface ReservationStore {
  hold(command: HoldCommand): Promise<HoldOutcome>;
  findReservation(reservationId: string): Promise<ReservationRecord | null>;
  /** Whether the user holds seats of the event at nowMs (an active, unexpired reservation). */
  hasLiveHold(eventId: string, userId: string, nowMs: number): Promise<boolean>;
  /**
   * The user's reservations, newest first, at most limit: with liveAt, only those active and
   * unexpired at that instant.
   */
  listUserReservations(userId: string, options: { liveAt?: number; limit: number }): Promise<ReservationRecord[]>;
  cancel(reservation: ReservationRecord, nowMs: number): Promise<CancelOutcome>;
  /** Ends up to batchSize reservations whose hold has passed. */
  expireDue(nowMs: number, batchSize: number): Promise<ExpiredHolds>;
}
