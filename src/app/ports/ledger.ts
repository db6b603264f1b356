// The payment ledger (PostgreSQL): every charge and refund, pending payments and what the
// provider said of them, cancellations. The rules that keep money right live in the
// schema (migrations/011_payment_ledger.sql); these are the steps the use cases take.
// Times are epoch milliseconds.
import type { ProviderPaymentStatus, VoidOutcome } from './payments.ts';
import type { SeatState } from './events.ts';
import type { StoredResponse, IdempotencyLease } from './idempotency.ts';

export type RefundReason = 'hold_lost' | 'buyer_cancelled' | 'organizer' | 'event_cancelled';
export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export interface RefundRecord {
  id: string;
  bookingId: string | null;
  chargeId: string;
  amountCents: number;
  feeCents: number;
  seatNos: number[];
  reason: RefundReason;
  providerKey: string;
  status: RefundStatus;
  attempts: number;
  lastError: string | null;
  createdAtMs: number;
}

/** The payment a reservation's attempt made, as the ledger knows it. */
export interface PaymentRecord {
  id: string;
  reservationId: string;
  attempt: number;
  chargeId: string | null;
  amountCents: number;
  currency: string;
  status: 'started' | 'requires_action' | 'processing' | 'succeeded' | 'failed' | 'voided';
  refundedCents: number;
  pendingUntilMs: number | null;
}

export interface RecordPendingCommand {
  lease: IdempotencyLease;
  reservationId: string;
  payerKey: string;
  attempt: number;
  chargeId: string;
  status: 'requires_action' | 'processing';
  /** The card the provider reported with the charge (for the payment's record), when it did. */
  cardFingerprint?: string | null;
  nowMs: number;
  /** The hold is kept alive until then. */
  untilMs: number;
  response: StoredResponse;
}

export type RecordPendingOutcome =
  { kind: 'pending'; changes: SeatState[] } | { kind: 'hold_lost' } | { kind: 'booked' } | { kind: 'lease_lost' };

export interface SettleCommand {
  /** The provider event's id (applied once); null from reconciliation. */
  eventId: string | null;
  eventType: string;
  reservationId: string;
  attempt: number;
  chargeId: string;
  outcome: ProviderPaymentStatus;
  nowMs: number;
}

export type SettleOutcome =
  | { kind: 'duplicate' | 'unknown' | 'unchanged' }
  | { kind: 'booked'; bookingId: string; eventId: string; changes: SeatState[] }
  | { kind: 'refund'; refundId: string | null; eventId: string; changes: SeatState[] }
  | { kind: 'released'; eventId: string; changes: SeatState[] };

export interface CancelBookingCommand {
  bookingId: string;
  /** null: every seat the booking still holds. */
  seatNos: number[] | null;
  reason: Exclude<RefundReason, 'hold_lost'>;
  feePercent: number;
  nowMs: number;
  /** The organizer's reason, kept with the refund. */
  note?: string;
}

export type CancelBookingOutcome =
  /** checked_in: a buyer may not cancel a ticket already used at the door. */
  | { kind: 'not_found' | 'not_booked' | 'nothing' | 'checked_in' }
  | { kind: 'cancelled'; refundId: string | null; amountCents: number; eventId: string; changes: SeatState[] };

export interface CancellationProgress {
  status: 'running' | 'done';
  /** Bookings of the event (every one is refunded). */
  bookings: number;
  /** Bookings whose refunds all succeeded (or had nothing to refund). */
  refunded: number;
  /** Refunds the provider refused so far (retried with backoff). */
  failed: number;
  startedAtMs: number;
  finishedAtMs: number | null;
}

export interface PaymentLedger {
  recordPending(command: RecordPendingCommand): Promise<RecordPendingOutcome>;
  settlePayment(command: SettleCommand): Promise<SettleOutcome>;
  /** The reservation's latest payment attempt, if any began. */
  latestPayment(reservationId: string): Promise<PaymentRecord | null>;
  /** The payment of a reservation's attempt. */
  payment(reservationId: string, attempt: number): Promise<PaymentRecord | null>;
  /** Pending payments last updated before the instant (for reconciliation). */
  stalePendingPayments(updatedBeforeMs: number, limit: number): Promise<PaymentRecord[]>;
  /** Attempts of the reservation whose outcome the ledger does not know (started, pending). */
  openAttempts(reservationId: string, exceptAttempt: number | null): Promise<PaymentRecord[]>;
  /** Records what voiding an attempt at the provider did. */
  recordVoid(reservationId: string, attempt: number, outcome: VoidOutcome, nowMs: number): Promise<void>;
  /** After a decline: the attempt's payment failed. */
  recordDecline(reservationId: string, attempt: number, chargeId: string | null, nowMs: number): Promise<void>;

  cancelBooking(command: CancelBookingCommand): Promise<CancelBookingOutcome>;
  refundsOfBooking(bookingId: string): Promise<RefundRecord[]>;
  /** The refunds of several bookings, in one read. */
  refundsOfBookings(bookingIds: string[]): Promise<RefundRecord[]>;
  /**
   * Claims a refund to send: it is not succeeded and is due (or is this id). Its next
   * attempt moves leaseMs ahead, so another process does not send it meanwhile.
   */
  claimRefund(refundId: string, nowMs: number, leaseMs: number): Promise<RefundRecord | null>;
  claimDueRefunds(nowMs: number, leaseMs: number, limit: number): Promise<RefundRecord[]>;
  refundSent(refundId: string, providerRefundId: string, status: RefundStatus, nowMs: number): Promise<void>;
  refundFailed(refundId: string, error: string, nextAttemptAtMs: number, nowMs: number): Promise<void>;
  /** Refunds not succeeded after failing at least once (for /metrics and the organizer). */
  failingRefunds(): Promise<number>;

  /** Starts (or finds) the event's cancellation job; false if it already existed. */
  startEventCancellation(eventId: string, nowMs: number): Promise<boolean>;
  runningCancellations(limit: number): Promise<string[]>;
  /** Ends the event's live holds (a batch at a time); returns how many ended and the freed seats. */
  endEventHolds(eventId: string, nowMs: number, limit: number): Promise<{ ended: number; changes: SeatState[] }>;
  /** Bookings of the event that still hold seats. */
  bookingsToCancel(eventId: string, limit: number): Promise<string[]>;
  finishEventCancellation(eventId: string, nowMs: number): Promise<void>;
  cancellationProgress(eventId: string): Promise<CancellationProgress | null>;
}
