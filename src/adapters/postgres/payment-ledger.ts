// PaymentLedger on PostgreSQL / PGlite. The decisions are stored functions
// (record_pending_payment, settle_payment, cancel_booking: migrations/functions/), the
// guarantees are the schema's (migrations/011_payment_ledger.sql); the rest is small
// reads and state moves of the refunds and the event cancellation jobs.
import { randomUUID } from 'node:crypto';
import { isUuid } from '../../domain/ids.ts';
import type { SeatState } from '../../app/ports/events.ts';
import type {
  CancelBookingCommand,
  CancelBookingOutcome,
  CancellationProgress,
  PaymentLedger,
  PaymentRecord,
  RecordPendingCommand,
  RecordPendingOutcome,
  RefundRecord,
  RefundStatus,
  SettleCommand,
  SettleOutcome,
} from '../../app/ports/ledger.ts';
import type { VoidOutcome } from '../../app/ports/payments.ts';
import type { Database } from './database.ts';
import { ts } from './sql.ts';
import { type BatchSettings, queryBatch, WriteBatcher } from './write-batcher.ts';

type ChangeRow = [number, number, 'booked' | 'available' | 'held', string?];

/** payments.attempt is an integer column. */
const attemptMax = 2 ** 31 - 1;

function toChanges(rows: ChangeRow[], holder: string | null = null): SeatState[] {
  return rows.map(([seatNo, version, status, expiresAt]) => ({
    seatNo,
    version,
    status,
    holder: status === 'held' ? holder : null,
    expiresAtMs: status === 'held' && expiresAt ? Date.parse(expiresAt) : null,
  }));
}

interface PaymentRow {
  id: string;
  reservation_id: string;
  attempt: number;
  charge_id: string | null;
  amount_cents: string | number;
  currency: string;
  status: PaymentRecord['status'];
  refunded_cents: string | number;
  pending_until: Date | null;
}

const paymentColumns =
  'id, reservation_id, attempt, charge_id, amount_cents, currency, status, refunded_cents, pending_until';

function toPayment(row: PaymentRow): PaymentRecord {
  return {
    id: row.id,
    reservationId: row.reservation_id,
    attempt: row.attempt,
    chargeId: row.charge_id,
    amountCents: Number(row.amount_cents),
    currency: row.currency,
    status: row.status,
    refundedCents: Number(row.refunded_cents),
    pendingUntilMs: row.pending_until?.getTime() ?? null,
  };
}

interface RefundRow {
  id: string;
  booking_id: string | null;
  charge_id: string;
  amount_cents: string | number;
  fee_cents: string | number;
  seat_nos: number[];
  reason: RefundRecord['reason'];
  provider_key: string;
  status: RefundStatus;
  attempts: number;
  last_error: string | null;
  created_at: Date;
}

const refundColumns = `f.id, f.booking_id, p.charge_id, f.amount_cents, f.fee_cents, f.seat_nos, f.reason,
  f.provider_key, f.status, f.attempts, f.last_error, f.created_at`;

function toRefund(row: RefundRow): RefundRecord {
  return {
    id: row.id,
    bookingId: row.booking_id,
    chargeId: row.charge_id,
    amountCents: Number(row.amount_cents),
    feeCents: Number(row.fee_cents),
    seatNos: row.seat_nos,
    reason: row.reason,
    providerKey: row.provider_key,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAtMs: row.created_at.getTime(),
  };
}

/** settle_payment()'s arguments, as one element of settle_payments()' array. */
interface SettleRequest {
  event: string | null;
  event_type: string;
  reservation: string;
  attempt: number;
  charge: string;
  outcome: string;
  now: string;
  booking: string;
}

interface SettleRow {
  out_kind: SettleOutcome['kind'];
  out_booking: string | null;
  out_refund: string | null;
  out_changes: ChangeRow[];
  out_event: string | null;
}

/** The same lock order in every batch: by reservation, then attempt. */
const byReservationThenAttempt = (a: SettleRequest, b: SettleRequest) =>
  a.reservation < b.reservation ? -1 : a.reservation > b.reservation ? 1 : a.attempt - b.attempt;

export class PostgresPaymentLedger implements PaymentLedger {
  private readonly settles: WriteBatcher<SettleRequest, SettleRow>;

  constructor(
    private readonly db: Database,
    batching: BatchSettings = { windowMs: 0, max: 1 },
  ) {
    this.settles = new WriteBatcher(
      batching,
      async (requests) =>
        (await queryBatch<SettleRow>(db, 'settle_payments', requests, byReservationThenAttempt)).map(
          (rows) => rows[0]!,
        ),
      async (request) =>
        (
          await db.query<SettleRow>('SELECT * FROM settle_payment($1, $2, $3, $4, $5, $6, $7, $8)', [
            request.event,
            request.event_type,
            request.reservation,
            request.attempt,
            request.charge,
            request.outcome,
            request.now,
            request.booking,
          ])
        ).rows[0]!,
    );
  }

  /** Batches of provider events sent (for the metrics). */
  batchStats() {
    return { settles: this.settles.stats };
  }

  async recordPending(command: RecordPendingCommand): Promise<RecordPendingOutcome> {
    const { rows } = await this.db.query<{ out_kind: RecordPendingOutcome['kind']; out_changes: ChangeRow[] }>(
      'SELECT * FROM record_pending_payment($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [
        command.lease.userId,
        command.lease.key,
        command.lease.lease,
        command.reservationId,
        command.payerKey,
        command.attempt,
        command.chargeId,
        command.status,
        ts(command.nowMs),
        ts(command.untilMs),
        JSON.stringify(command.response),
        command.cardFingerprint ?? null,
      ],
    );
    const row = rows[0]!;
    if (row.out_kind === 'pending')
      return { kind: 'pending', changes: toChanges(row.out_changes, command.reservationId) };
    return { kind: row.out_kind };
  }

  async settlePayment(command: SettleCommand): Promise<SettleOutcome> {
    // From the provider's metadata: a reservation and attempt that cannot be ours (not a
    // uuid, or beyond the attempt column's integer) are nobody's payment, not a database error.
    if (
      !isUuid(command.reservationId) ||
      !Number.isInteger(command.attempt) ||
      command.attempt < 0 ||
      command.attempt > attemptMax
    ) {
      return { kind: 'unknown' };
    }
    // One statement, shared with the other provider events of its batch (group commit).
    const row = await this.settles.submit({
      event: command.eventId,
      event_type: command.eventType,
      reservation: command.reservationId,
      attempt: command.attempt,
      charge: command.chargeId,
      outcome: command.outcome,
      now: new Date(command.nowMs).toISOString(),
      booking: randomUUID(),
    });
    const changes = toChanges(row.out_changes);
    switch (row.out_kind) {
      case 'booked':
        return { kind: 'booked', bookingId: row.out_booking!, eventId: row.out_event!, changes };
      case 'refund':
        return { kind: 'refund', refundId: row.out_refund, eventId: row.out_event!, changes };
      case 'released':
        return { kind: 'released', eventId: row.out_event!, changes };
      default:
        return { kind: row.out_kind };
    }
  }

  async latestPayment(reservationId: string): Promise<PaymentRecord | null> {
    if (!isUuid(reservationId)) return null;
    const { rows } = await this.db.query<PaymentRow>(
      `SELECT ${paymentColumns} FROM payments WHERE reservation_id = $1 ORDER BY attempt DESC LIMIT 1`,
      [reservationId],
    );
    return rows[0] ? toPayment(rows[0]) : null;
  }

  async payment(reservationId: string, attempt: number): Promise<PaymentRecord | null> {
    if (!isUuid(reservationId)) return null;
    const { rows } = await this.db.query<PaymentRow>(
      `SELECT ${paymentColumns} FROM payments WHERE reservation_id = $1 AND attempt = $2`,
      [reservationId, attempt],
    );
    return rows[0] ? toPayment(rows[0]) : null;
  }

  async stalePendingPayments(updatedBeforeMs: number, limit: number): Promise<PaymentRecord[]> {
    const { rows } = await this.db.query<PaymentRow>(
      `SELECT ${paymentColumns} FROM payments
       WHERE status IN ('requires_action', 'processing') AND updated_at <= $1 AND charge_id IS NOT NULL
       ORDER BY updated_at LIMIT $2`,
      [ts(updatedBeforeMs), limit],
    );
    return rows.map(toPayment);
  }

  async openAttempts(reservationId: string, exceptAttempt: number | null): Promise<PaymentRecord[]> {
    const { rows } = await this.db.query<PaymentRow>(
      `SELECT ${paymentColumns} FROM payments
       WHERE reservation_id = $1 AND status IN ('started', 'requires_action', 'processing')
         AND attempt IS DISTINCT FROM $2
       ORDER BY attempt`,
      [reservationId, exceptAttempt],
    );
    return rows.map(toPayment);
  }

  async recordVoid(reservationId: string, attempt: number, outcome: VoidOutcome, nowMs: number): Promise<void> {
    if (outcome.kind === 'processing') {
      await this.db.query(
        `UPDATE payments SET status = 'processing', charge_id = coalesce(charge_id, $3), updated_at = $4
         WHERE reservation_id = $1 AND attempt = $2 AND status IN ('started', 'requires_action')`,
        [reservationId, attempt, outcome.chargeId, ts(nowMs)],
      );
      return;
    }
    if (outcome.kind === 'voided') {
      await this.db.query(
        `UPDATE payments SET status = 'voided', pending_until = NULL, updated_at = $3
         WHERE reservation_id = $1 AND attempt = $2 AND status IN ('started', 'requires_action', 'processing')`,
        [reservationId, attempt, ts(nowMs)],
      );
      return;
    }
    // Refunded in full at the provider: the ledger records the charge and its refund (once).
    const params = [reservationId, attempt, outcome.chargeId, outcome.amountCents, outcome.refundId, ts(nowMs)];
    await this.db.transaction(async (tx) => {
      await tx.query(
        `WITH paid AS (
           UPDATE payments SET status = 'succeeded', charge_id = $3, pending_until = NULL, updated_at = $6
           WHERE reservation_id = $1 AND attempt = $2
           RETURNING id, amount_cents
         )
         INSERT INTO refunds (id, payment_id, amount_cents, reason, provider_key, provider_refund_id, status,
                              next_attempt_at, created_at, updated_at)
         SELECT gen_random_uuid(), paid.id, least($4::bigint, paid.amount_cents), 'hold_lost', 'void:' || $3,
                $5, 'succeeded', $6, $6, $6
         FROM paid WHERE $4::bigint > 0
         ON CONFLICT DO NOTHING`,
        params,
      );
      // The charge's whole refund was written already (its webhook settled it while this void
      // was under way) and not made yet: this void's refund is that refund, made. Without this
      // the row is sent later, refused as already refunded, and retried forever, while the
      // provider's refund stays unknown to the ledger. A new statement: its snapshot sees a
      // row that settle_payment committed while the insert above waited on the payment's lock.
      await tx.query(
        `UPDATE refunds f SET status = 'succeeded', provider_refund_id = $4, last_error = NULL, updated_at = $5
         FROM payments p
         WHERE p.reservation_id = $1 AND p.attempt = $2 AND f.payment_id = p.id AND f.booking_id IS NULL
           AND f.status <> 'succeeded' AND $3::bigint > 0`,
        [reservationId, attempt, outcome.amountCents, outcome.refundId, ts(nowMs)],
      );
    });
  }

  async recordDecline(reservationId: string, attempt: number, chargeId: string | null, nowMs: number) {
    await this.db.query(
      `UPDATE payments SET status = 'failed', charge_id = coalesce(charge_id, $3), pending_until = NULL, updated_at = $4
       WHERE reservation_id = $1 AND attempt = $2 AND status IN ('started', 'requires_action', 'processing')`,
      [reservationId, attempt, chargeId, ts(nowMs)],
    );
  }

  async cancelBooking(command: CancelBookingCommand): Promise<CancelBookingOutcome> {
    if (!isUuid(command.bookingId)) return { kind: 'not_found' };
    const { rows } = await this.db.query<{
      out_kind: CancelBookingOutcome['kind'];
      out_refund: string | null;
      out_amount: string | number | null;
      out_changes: ChangeRow[];
      event_id: string;
    }>(`SELECT c.*, b.event_id FROM cancel_booking($1, $2, $3, $4, $5, $6, $7) c JOIN bookings b ON b.id = $1`, [
      command.bookingId,
      command.seatNos,
      command.reason,
      command.feePercent,
      ts(command.nowMs),
      randomUUID(),
      command.note ?? null,
    ]);
    const row = rows[0];
    if (!row || row.out_kind !== 'cancelled') return { kind: row?.out_kind ?? 'not_found' } as CancelBookingOutcome;
    return {
      kind: 'cancelled',
      refundId: row.out_refund,
      amountCents: Number(row.out_amount ?? 0),
      eventId: row.event_id,
      changes: toChanges(row.out_changes),
    };
  }

  refundsOfBooking(bookingId: string): Promise<RefundRecord[]> {
    return this.refundsOfBookings([bookingId]);
  }

  async refundsOfBookings(bookingIds: string[]): Promise<RefundRecord[]> {
    const ids = bookingIds.filter(isUuid);
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<RefundRow>(
      `SELECT ${refundColumns} FROM refunds f JOIN payments p ON p.id = f.payment_id
       WHERE f.booking_id = ANY($1::uuid[]) ORDER BY f.created_at, f.id`,
      [ids],
    );
    return rows.map(toRefund);
  }

  async claimRefund(refundId: string, nowMs: number, leaseMs: number): Promise<RefundRecord | null> {
    const { rows } = await this.db.query<RefundRow>(
      `WITH claimed AS (
         UPDATE refunds SET next_attempt_at = $3 WHERE id = $1 AND status <> 'succeeded' AND next_attempt_at <= $2
         RETURNING *
       )
       SELECT ${refundColumns} FROM claimed f JOIN payments p ON p.id = f.payment_id`,
      [refundId, ts(nowMs), ts(nowMs + leaseMs)],
    );
    return rows[0] ? toRefund(rows[0]) : null;
  }

  async claimDueRefunds(nowMs: number, leaseMs: number, limit: number): Promise<RefundRecord[]> {
    const { rows } = await this.db.query<RefundRow>(
      `WITH due AS (
         SELECT id FROM refunds WHERE status <> 'succeeded' AND next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE refunds f SET next_attempt_at = $2 FROM due WHERE f.id = due.id RETURNING f.*
       )
       SELECT ${refundColumns} FROM claimed f JOIN payments p ON p.id = f.payment_id`,
      [ts(nowMs), ts(nowMs + leaseMs), limit],
    );
    return rows.map(toRefund);
  }

  async refundSent(refundId: string, providerRefundId: string, status: RefundStatus, nowMs: number): Promise<void> {
    if (!isUuid(refundId)) return; // named by a provider event's metadata: not one of ours
    await this.db.query(
      `UPDATE refunds SET provider_refund_id = $2, status = $3, attempts = attempts + 1, last_error = NULL,
         updated_at = $4
       WHERE id = $1 AND status <> 'succeeded'`,
      [refundId, providerRefundId, status, ts(nowMs)],
    );
  }

  async refundFailed(refundId: string, error: string, nextAttemptAtMs: number, nowMs: number): Promise<void> {
    if (!isUuid(refundId)) return; // named by a provider event's metadata: not one of ours
    await this.db.query(
      `UPDATE refunds SET status = 'failed', attempts = attempts + 1, last_error = $2, next_attempt_at = $3,
         updated_at = $4
       WHERE id = $1 AND status <> 'succeeded'`,
      [refundId, error.slice(0, 500), ts(nextAttemptAtMs), ts(nowMs)],
    );
  }

  async failingRefunds(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM refunds WHERE status = 'failed'`,
    );
    return rows[0]?.n ?? 0;
  }

  async startEventCancellation(eventId: string, nowMs: number): Promise<boolean> {
    const result = await this.db.query(
      `INSERT INTO event_cancellations (event_id, status, started_at) VALUES ($1, 'running', $2)
       ON CONFLICT (event_id) DO NOTHING`,
      [eventId, ts(nowMs)],
    );
    return result.rowCount === 1;
  }

  async runningCancellations(limit: number): Promise<string[]> {
    // A cancelled event whose job is not done, whether or not its job row exists yet (the
    // event's status is the durable request; the row is written by the job's first step).
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT e.id FROM events e LEFT JOIN event_cancellations c ON c.event_id = e.id
       WHERE e.status = 'cancelled' AND c.status IS DISTINCT FROM 'done'
       ORDER BY c.started_at NULLS FIRST LIMIT $1`,
      [limit],
    );
    return rows.map((row) => row.id);
  }

  async endEventHolds(eventId: string, nowMs: number, limit: number) {
    // Reservation rows, then their seats (every writer's order); SKIP LOCKED: a hold being
    // confirmed right now is left to its confirmation, which sees the event cancelled.
    const { rows } = await this.db.query<{ ended: number; freed: ChangeRow[] }>(
      `WITH due AS (
         SELECT id FROM reservations WHERE event_id = $1 AND status = 'active'
         ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
       ), ended AS (
         UPDATE reservations r SET status = 'cancelled', ended_at = $2, paying_key = NULL, paying_since = NULL
         FROM due WHERE r.id = due.id
         RETURNING r.seat_nos, r.fencing_token
       ), freed AS (
         UPDATE seats s SET hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
         FROM ended WHERE s.event_id = $1 AND s.seat_no = ANY(ended.seat_nos) AND s.hold_token = ended.fencing_token
         RETURNING s.seat_no, s.version
       )
       SELECT (SELECT count(*) FROM ended)::int AS ended,
              (SELECT coalesce(jsonb_agg(jsonb_build_array(seat_no, version, 'available')), '[]') FROM freed) AS freed`,
      [eventId, ts(nowMs), limit],
    );
    return { ended: rows[0]?.ended ?? 0, changes: toChanges(rows[0]?.freed ?? []) };
  }

  async bookingsToCancel(eventId: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM bookings WHERE event_id = $1 AND cardinality(seat_nos) > 0 ORDER BY id LIMIT $2`,
      [eventId, limit],
    );
    return rows.map((row) => row.id);
  }

  async finishEventCancellation(eventId: string, nowMs: number): Promise<void> {
    await this.db.query(
      `UPDATE event_cancellations SET status = 'done', finished_at = $2 WHERE event_id = $1 AND status = 'running'`,
      [eventId, ts(nowMs)],
    );
  }

  async cancellationProgress(eventId: string): Promise<CancellationProgress | null> {
    if (!isUuid(eventId)) return null;
    const { rows } = await this.db.query<{
      status: 'running' | 'done';
      started_at: Date;
      finished_at: Date | null;
      bookings: number;
      refunded: number;
      failed: number;
    }>(
      `SELECT c.status, c.started_at, c.finished_at,
         (SELECT count(*)::int FROM bookings b WHERE b.event_id = c.event_id) AS bookings,
         (SELECT count(*)::int FROM bookings b WHERE b.event_id = c.event_id AND cardinality(b.seat_nos) = 0
            AND NOT EXISTS (SELECT 1 FROM refunds f WHERE f.booking_id = b.id AND f.status <> 'succeeded')) AS refunded,
         (SELECT count(*)::int FROM refunds f JOIN bookings b ON b.id = f.booking_id
            WHERE b.event_id = c.event_id AND f.status = 'failed') AS failed
       FROM event_cancellations c WHERE c.event_id = $1`,
      [eventId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      status: row.status,
      bookings: row.bookings,
      refunded: row.refunded,
      failed: row.failed,
      startedAtMs: row.started_at.getTime(),
      finishedAtMs: row.finished_at?.getTime() ?? null,
    };
  }
}
