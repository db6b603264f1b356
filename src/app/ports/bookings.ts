// Bookings and the payments that make them: who is paying for a hold, the booking step,
// and the charges to refund. Times are epoch milliseconds.
import type { ReservationStatus } from '../../domain/holds.ts';
import type { IdempotencyLease, StoredResponse } from './idempotency.ts';
import type { SeatDetail, SeatState } from './events.ts';
import type { ReservationRecord } from './reservations.ts';

export interface BookingRecord {
  id: string;
  reservationId: string;
  eventId: string;
  userId: string;
  /** The seats it still holds (cancelled seats leave it). */
  seatNos: number[];
  /** What was paid for it. */
  totalCents: number;
  currency: string;
  createdAtMs: number;
  status: 'confirmed' | 'partially_cancelled' | 'cancelled';
}

export interface ConfirmCommand {
  reservation: ReservationRecord;
  nowMs: number;
  chargeId: string;
  /** The card the provider reported with the charge (for the payment's record), when it did. */
  cardFingerprint: string | null;
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
  | { kind: 'hold_lost'; response: StoredResponse; changes: SeatState[]; refundId: string | null }
  /** Another request took the key over: it, not this one, finishes (with the same charge). */
  | { kind: 'lease_lost' };

export interface BeginConfirmationCommand {
  reservationId: string;
  userId: string;
  /** The Idempotency-Key and the hash of the request sent with it. */
  key: string;
  requestHash: string;
  /** A new lease, taken on the key if it is claimed. */
  lease: string;
  /** Names this confirmation as the payer of the hold. */
  payerKey: string;
  /** The event the caller's admission token (checked by the caller) admits them to. */
  admittedEventId: string | null;
  /** The payer's address (the sign-in token's email claim), kept for the booking's mail. */
  email: string | null;
  /**
   * The paying card's fingerprint, once asked for ('card_needed'): counted against the
   * event's limit per card and recorded with the hold. null: not looked up.
   */
  cardFingerprint: string | null;
  nowMs: number;
  /** A key's claim, or a payer's mark, older than this is stale and may be taken over. */
  staleAfterMs: number;
}

/** What the caller works with once it holds the key. */
export interface ClaimedConfirmation {
  lease: IdempotencyLease;
  reservation: ReservationRecord;
  waitingRoom: boolean;
  /**
   * The payment attempt an earlier holder of this key began before it died, when its charge
   * can be refunded by its provider key (it cannot have paid for a booking); else null.
   */
  refundableAttempt: number | null;
}

export type BeginConfirmation =
  /** No such reservation, or another user's: nothing was claimed. */
  | { kind: 'not_found' }
  /** The event has a waiting room that has not admitted the caller: nothing was claimed. */
  | { kind: 'admission_required'; eventId: string }
  | { kind: 'mismatch' }
  | { kind: 'in_flight' }
  | { kind: 'replay'; response: StoredResponse }
  /** Another payer is paying for this hold now; the key was let go (retry later). */
  | { kind: 'busy' }
  /**
   * The event limits seats per card and no cardFingerprint was given: nothing was claimed;
   * ask the provider for the card and begin again with it.
   */
  | { kind: 'card_needed' }
  /**
   * The card has cardSeats seats at this event (booked, or being paid for now), and this
   * hold's would take it over the limit: nothing charged, the hold kept, the key let go.
   */
  | { kind: 'card_limit'; limit: number; cardSeats: number; reservationSeats: number }
  /** Claimed: the hold ended or the event was cancelled; the refusal is to be stored. */
  | ({ kind: 'refuse'; reason: ConfirmRefusalReason } & ClaimedConfirmation)
  /** Claimed: the attempt this key began booked meanwhile (by the provider's webhook). */
  | ({ kind: 'booked'; bookingId: string } & ClaimedConfirmation)
  /** Claimed and marked as paying: charge under this attempt's provider key. */
  | ({ kind: 'started'; attempt: number; seats: SeatDetail[] } & ClaimedConfirmation);

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
  /**
   * Everything before the charge, in one call: the reservation is the caller's, the waiting
   * room admits them, the key is claimed (or replayed), the hold is live and is marked as
   * being paid by this payer.
   */
  beginConfirmation(command: BeginConfirmationCommand): Promise<BeginConfirmation>;
  /** The booking step, with the charge recorded and the answer stored, in one transaction. */
  confirm(command: ConfirmCommand): Promise<ConfirmOutcome>;
  /**
   * The payer gave up after an unexpected error, its charge call over: the next payer may
   * continue under the same attempt (and so, at the provider, with the same charge).
   */
  releasePayment(reservationId: string, payerKey: string, attempt: number): Promise<void>;
  /**
   * After a decline: the attempt's payment failed (ledger); clears the marker and moves to
   * the next payment attempt (if still this payer's).
   */
  endDeclinedPayment(
    reservationId: string,
    payerKey: string,
    attempt: number,
    chargeId: string | null,
    nowMs: number,
  ): Promise<void>;
  /**
   * Reservations that ended before endedBeforeMs with charges to refund, not yet settled:
   * cancelled or expired ones that started paying (every attempt), and confirmed ones paid
   * by a later attempt than their first (the attempts before the paying one).
   */
  reservationsToSettle(endedBeforeMs: number, limit: number): Promise<ReservationToSettle[]>;
  markRefundsSettled(reservationId: string): Promise<void>;

  findBooking(bookingId: string): Promise<BookingRecord | null>;
  listBookings(userId: string, limit: number): Promise<BookingRecord[]>;
}
