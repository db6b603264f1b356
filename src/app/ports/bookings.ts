// Bookings and the payments that make them: who is paying for a hold, the booking step,
// and the charges to refund. Times are epoch milliseconds.
import type { ReservationStatus } from '../../domain/holds.ts';
import type { IdempotencyLease, StoredResponse } from './idempotency.ts';
import type { SeatState } from './events.ts';
import type { ReservationRecord } from './reservations.ts';

export interface BookingRecord {
  id: string;
  reservationId: string;
  eventId: string;
  userId: string;
  seatNos: number[];
  totalCents: number;
  currency: string;
  createdAtMs: number;
}

export interface ConfirmCommand {
  reservation: ReservationRecord;
  nowMs: number;
  chargeId: string;
  lease: IdempotencyLease;
  /**
   * Whose payment this is: the booking is made only while this payer and attempt are the
   * reservation's current ones (another confirmation may have taken the payment over).
   */
  payment: { payerKey: string; attempt: number };
  /** The answer stored under the key when the booking is made. */
  responseFor(booking: BookingRecord): StoredResponse;
  /**
   * The answer stored under the key when this charge does not book: the hold is gone
   * (expired, cancelled, confirmed), the event was cancelled, or another payer took over.
   */
  refusalFor(reason: ConfirmRefusalReason): StoredResponse;
}

export type ConfirmRefusalReason = Exclude<ReservationStatus, 'active'> | 'event_cancelled' | 'superseded';

export type ConfirmOutcome =
  | { kind: 'confirmed'; booking: BookingRecord; response: StoredResponse; changes: SeatState[] }
  /**
   * This charge did not book (the hold was gone, the event cancelled, or another payer took
   * over); the refusal is stored under the key, the charge is to be refunded.
   */
  | { kind: 'hold_lost'; response: StoredResponse; changes: SeatState[] }
  /** Another request took the key over: it, not this one, finishes (with the same charge). */
  | { kind: 'lease_lost' };

/** 'started' carries the payment attempt whose provider key the charge must use. */
export type PaymentStart = { kind: 'started'; attempt: number } | { kind: 'busy' } | { kind: 'ended' };

export interface ReservationToSettle {
  id: string;
  /** Attempts 0..lastAttempt may each have produced a charge. */
  lastAttempt: number;
}

/**
 * PostgreSQL (or PGlite). The booking step is confirm_reservation()
 * (migrations/functions/confirm_reservation.sql), in one statement.
 */
export interface BookingStore {
  confirm(command: ConfirmCommand): Promise<ConfirmOutcome>;
  /** Marks the hold as being paid by payerKey; 'busy' when another payer is under way. */
  beginPayment(reservationId: string, payerKey: string, nowMs: number, staleAfterMs: number): Promise<PaymentStart>;
  /**
   * The payer gave up after an unexpected error, its charge call over: the next payer may
   * continue under the same attempt (and so, at the provider, with the same charge).
   */
  releasePayment(reservationId: string, payerKey: string, attempt: number): Promise<void>;
  /** After a decline: clears the marker and moves to the next payment attempt (if still this payer's). */
  endDeclinedPayment(reservationId: string, payerKey: string, attempt: number): Promise<void>;
  /**
   * Reservations that ended before endedBeforeMs with charges to refund, not yet settled:
   * cancelled or expired ones that started paying (every attempt), and confirmed ones paid
   * by a later attempt than their first (the attempts before the paying one).
   */
  reservationsToSettle(endedBeforeMs: number, limit: number): Promise<ReservationToSettle[]>;
  markRefundsSettled(reservationId: string): Promise<void>;
  /** The charge that paid for the reservation's booking, if it has one. */
  bookedCharge(reservationId: string): Promise<string | null>;

  findBooking(bookingId: string): Promise<BookingRecord | null>;
  listBookings(userId: string, limit: number): Promise<BookingRecord[]>;
}
