// BookingStore on PostgreSQL / PGlite: the two writes of a confirmation (before the charge:
// begin_confirmation(); after it: confirm_reservation()), each through a write batcher
// (group commit), then the charges to refund and the bookings. Both lock the key row, then
// the reservation row, then its seats; the reservation before the seats, as every writer
// does (see reservation-store.ts).
import { randomUUID } from 'node:crypto';
import { DomainError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type {
  BeginConfirmation,
  BeginConfirmationCommand,
  BookingRecord,
  BookingStore,
  ConfirmCommand,
  ConfirmOutcome,
  ConfirmRefusalReason,
} from '../../app/ports/bookings.ts';
import type { SeatState } from '../../app/ports/events.ts';
import type { StoredResponse } from '../../app/ports/idempotency.ts';
import type { Database } from './database.ts';
import { isUniqueViolation, ts } from './sql.ts';
import { type BatchSettings, queryBatch, WriteBatcher } from './write-batcher.ts';

/** begin_confirmation()'s arguments, as one element of begin_confirmations()' array. */
interface BeginRequest {
  user: string;
  key: string;
  request_hash: string;
  lease: string;
  now: string;
  stale_before: string;
  reservation: string;
  payer: string;
  admitted_event: string | null;
  email: string | null;
}

/** confirm_reservation()'s arguments, as one element of confirm_reservations()' array. */
interface ConfirmRequest {
  reservation: string;
  user: string;
  key: string;
  lease: string;
  now: string;
  booking: string;
  charge: string;
  booked_response: StoredResponse;
  refusals: Record<string, StoredResponse>;
  payer: string;
  attempt: number;
  fingerprint: string | null;
}

interface BookingRow {
  id: string;
  reservation_id: string;
  event_id: string;
  user_id: string;
  seat_nos: number[];
  total_cents: number;
  currency: string;
  created_at: Date;
  status: BookingRecord['status'];
}

const bookingColumns = 'id, reservation_id, event_id, user_id, seat_nos, total_cents, currency, created_at, status';

function toBooking(row: BookingRow): BookingRecord {
  return {
    id: row.id,
    reservationId: row.reservation_id,
    eventId: row.event_id,
    userId: row.user_id,
    seatNos: row.seat_nos,
    totalCents: row.total_cents,
    currency: row.currency,
    createdAtMs: row.created_at.getTime(),
    status: row.status,
  };
}

interface BeginRow {
  out_kind:
    | 'not_found'
    | 'admission_required'
    | 'mismatch'
    | 'in_flight'
    | 'replay'
    | 'busy'
    | 'card_needed'
    | 'card_limit'
    | 'refuse'
    | 'booked'
    | 'started';
  out_reason: ConfirmRefusalReason | null;
  out_response: StoredResponse | null;
  out_attempt: number | null;
  out_refundable_attempt: number | null;
  out_event: string | null;
  out_waiting_room: boolean | null;
  out_fencing_token: number;
  out_seat_nos: number[];
  out_total_cents: number;
  out_currency: string;
  out_created_at: Date | string;
  out_expires_at: Date | string;
  out_booking: string | null;
  out_seats: [number, string, string, number, number][] | null;
  out_card: { limit: number; seats: number } | null;
}

interface ConfirmRow {
  out_kind: 'confirmed' | 'hold_lost' | 'lease_lost';
  out_response: StoredResponse;
  out_changes: [number, number, 'booked' | 'available'][];
  out_refund: string | null;
}

/** A timestamptz as it comes back: a Date alone, or text inside a batch's JSON. */
const msOf = (value: Date | string) => (value instanceof Date ? value.getTime() : Date.parse(value));

const iso = (ms: number) => new Date(ms).toISOString();

/** The same lock order in every batch: by reservation, then user and key. */
const byReservationThenKey = <T extends { reservation: string; user: string; key: string }>(a: T, b: T) =>
  a.reservation < b.reservation
    ? -1
    : a.reservation > b.reservation
      ? 1
      : `${a.user}\0${a.key}` < `${b.user}\0${b.key}`
        ? -1
        : 1;

export class PostgresBookingStore implements BookingStore {
  private readonly begins: WriteBatcher<BeginRequest, BeginRow>;
  private readonly confirms: WriteBatcher<ConfirmRequest, ConfirmRow>;

  constructor(
    private readonly db: Database,
    batching: BatchSettings = { windowMs: 0, max: 1 },
  ) {
    this.begins = new WriteBatcher(
      batching,
      async (requests) =>
        (await queryBatch<BeginRow>(db, 'begin_confirmations', requests, byReservationThenKey)).map((rows) => rows[0]!),
      async (request) => this.beginOne(request, null),
    );
    this.confirms = new WriteBatcher(
      batching,
      async (requests) =>
        (await queryBatch<ConfirmRow>(db, 'confirm_reservations', requests, byReservationThenKey)).map(
          (rows) => rows[0]!,
        ),
      async (request) =>
        (
          await db.query<ConfirmRow>(
            'SELECT * FROM confirm_reservation($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
            [
              request.reservation,
              request.user,
              request.key,
              request.lease,
              request.now,
              request.booking,
              request.charge,
              JSON.stringify(request.booked_response),
              JSON.stringify(request.refusals),
              request.payer,
              request.attempt,
              request.fingerprint,
            ],
          )
        ).rows[0]!,
    );
  }

  /** Batches sent (for the metrics): begins and confirms. */
  batchStats() {
    return { begins: this.begins.stats, confirms: this.confirms.stats };
  }

  /** One begin_confirmation() alone, in its own transaction. */
  private async beginOne(request: BeginRequest, fingerprint: string | null): Promise<BeginRow> {
    const { rows } = await this.db.query<BeginRow>(
      'SELECT * FROM begin_confirmation($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
      [
        request.user,
        request.key,
        request.request_hash,
        request.lease,
        request.now,
        request.stale_before,
        request.reservation,
        request.payer,
        request.admitted_event,
        request.email,
        fingerprint,
      ],
    );
    return rows[0]!;
  }

  async beginConfirmation(command: BeginConfirmationCommand): Promise<BeginConfirmation> {
    // One statement: begin_confirmation() (migrations/functions/begin_confirmation.sql).
    if (!isUuid(command.reservationId)) return { kind: 'not_found' };
    const request: BeginRequest = {
      user: command.userId,
      key: command.key,
      request_hash: command.requestHash,
      lease: command.lease,
      now: iso(command.nowMs),
      stale_before: iso(command.nowMs - command.staleAfterMs),
      reservation: command.reservationId,
      payer: command.payerKey,
      admitted_event:
        command.admittedEventId !== null && isUuid(command.admittedEventId) ? command.admittedEventId : null,
      email: command.email,
    };
    // A begin counted against a limit per card runs alone, never batched: its (event, card)
    // lock, taken inside a batch after other reservations' rows, could deadlock two batches.
    const row =
      command.cardFingerprint === null
        ? await this.begins.submit(request)
        : await this.beginOne(request, command.cardFingerprint);
    switch (row.out_kind) {
      case 'not_found':
      case 'mismatch':
      case 'in_flight':
      case 'busy':
      case 'card_needed':
        return { kind: row.out_kind };
      case 'card_limit':
        return {
          kind: 'card_limit',
          limit: row.out_card!.limit,
          cardSeats: Number(row.out_card!.seats),
          reservationSeats: row.out_seat_nos.length,
        };
      case 'admission_required':
        return { kind: row.out_kind, eventId: row.out_event! };
      case 'replay':
        return { kind: row.out_kind, response: row.out_response! };
      case 'refuse':
      case 'booked':
      case 'started': {
        const claimed = {
          lease: { userId: command.userId, key: command.key, lease: command.lease },
          reservation: {
            id: command.reservationId,
            eventId: row.out_event!,
            userId: command.userId,
            status: 'active' as const,
            fencingToken: row.out_fencing_token,
            seatNos: row.out_seat_nos,
            totalCents: row.out_total_cents,
            currency: row.out_currency,
            createdAtMs: msOf(row.out_created_at),
            expiresAtMs: msOf(row.out_expires_at),
            bookingId: row.out_booking,
          },
          waitingRoom: row.out_waiting_room === true,
          refundableAttempt: row.out_refundable_attempt,
        };
        if (row.out_kind === 'booked') {
          return { kind: 'booked', bookingId: row.out_booking!, ...claimed };
        }
        if (row.out_kind === 'refuse') {
          const reason = row.out_reason!;
          const status = reason === 'event_cancelled' || reason === 'superseded' ? 'active' : reason;
          return { kind: 'refuse', reason, ...claimed, reservation: { ...claimed.reservation, status } };
        }
        const seats = (row.out_seats ?? []).map(([seatNo, section, rowLabel, number, priceCents]) => ({
          seatNo,
          section,
          row: rowLabel,
          number,
          priceCents,
        }));
        return { kind: 'started', attempt: row.out_attempt!, seats, ...claimed };
      }
    }
  }

  async confirm(command: ConfirmCommand): Promise<ConfirmOutcome> {
    // One statement: confirm_reservation() (migrations/functions/confirm_reservation.sql).
    const { reservation, nowMs, lease } = command;
    const booking: BookingRecord = {
      id: randomUUID(),
      reservationId: reservation.id,
      eventId: reservation.eventId,
      userId: reservation.userId,
      seatNos: reservation.seatNos,
      totalCents: reservation.totalCents,
      currency: reservation.currency,
      createdAtMs: nowMs,
      status: 'confirmed',
    };
    const refusals = Object.fromEntries(
      (['expired', 'cancelled', 'confirmed', 'event_cancelled', 'superseded'] as const).map((status) => [
        status,
        command.refusalFor(status),
      ]),
    );
    let row: ConfirmRow;
    try {
      row = await this.confirms.submit({
        reservation: reservation.id,
        user: lease.userId,
        key: lease.key,
        lease: lease.lease,
        now: iso(nowMs),
        booking: booking.id,
        charge: command.chargeId,
        booked_response: command.responseFor(booking),
        refusals,
        payer: command.payment.payerKey,
        attempt: command.payment.attempt,
        fingerprint: command.cardFingerprint,
      });
    } catch (error) {
      // Invariant 1's backstop: the primary key refused a seat that is already booked.
      if (isUniqueViolation(error, 'booked_seats_pkey')) {
        throw new DomainError('SEAT_UNAVAILABLE', 'a seat of this reservation is already booked');
      }
      throw error;
    }
    const { out_kind: kind, out_response: response } = row;
    const changes = row.out_changes.map(([seatNo, version, status]): SeatState => ({
      seatNo,
      version,
      status,
      holder: null,
      expiresAtMs: null,
    }));
    if (kind === 'lease_lost') return { kind };
    if (kind === 'hold_lost') return { kind, response, changes, refundId: row.out_refund };
    // Booked by the provider's webhook first (with this charge): that booking.
    if (response.kind === 'booking' && response.body.booking_id !== booking.id) {
      booking.id = String(response.body.booking_id);
      booking.createdAtMs = Date.parse(String(response.body.created_at));
    }
    return { kind, booking, response, changes };
  }

  async releasePayment(reservationId: string, payerKey: string, attempt: number): Promise<void> {
    await this.db.query(
      `UPDATE reservations SET paying_key = NULL, paying_since = NULL
       WHERE id = $1 AND paying_key = $2 AND payment_attempt = $3`,
      [reservationId, payerKey, attempt],
    );
  }

  async endDeclinedPayment(
    reservationId: string,
    payerKey: string,
    attempt: number,
    chargeId: string | null,
    nowMs: number,
  ) {
    await this.db.query(
      `WITH failed AS (
         UPDATE payments SET status = 'failed', charge_id = coalesce(charge_id, $4), updated_at = $5
         WHERE reservation_id = $1 AND attempt = $3 AND status IN ('started', 'requires_action', 'processing')
       )
       UPDATE reservations SET paying_key = NULL, paying_since = NULL, payment_attempt = payment_attempt + 1
       WHERE id = $1 AND paying_key = $2 AND payment_attempt = $3`,
      [reservationId, payerKey, attempt, chargeId, ts(nowMs)],
    );
  }

  async reservationsToSettle(endedBeforeMs: number, limit: number) {
    // A confirmed reservation was paid by its last attempt; the attempts before it (taken
    // over, declined) are to be refunded. An ended one: every attempt.
    const { rows } = await this.db.query<{ id: string; last_attempt: number }>(
      `SELECT id, CASE WHEN status = 'confirmed' THEN payment_attempt - 1 ELSE payment_attempt END AS last_attempt
       FROM reservations
       WHERE payment_started AND NOT refunds_settled
         AND (status IN ('cancelled', 'expired') OR (status = 'confirmed' AND payment_attempt > 0))
         AND ended_at <= $1
       ORDER BY ended_at LIMIT $2`,
      [ts(endedBeforeMs), limit],
    );
    return rows.map((row) => ({ id: row.id, lastAttempt: row.last_attempt }));
  }

  async markRefundsSettled(reservationId: string): Promise<void> {
    await this.db.query('UPDATE reservations SET refunds_settled = true WHERE id = $1', [reservationId]);
  }

  async findBooking(bookingId: string): Promise<BookingRecord | null> {
    if (!isUuid(bookingId)) return null;
    const { rows } = await this.db.query<BookingRow>(`SELECT ${bookingColumns} FROM bookings WHERE id = $1`, [
      bookingId,
    ]);
    return rows[0] ? toBooking(rows[0]) : null;
  }

  async listBookings(userId: string, limit: number): Promise<BookingRecord[]> {
    const { rows } = await this.db.query<BookingRow>(
      `SELECT ${bookingColumns} FROM bookings WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
      [userId, limit],
    );
    return rows.map(toBooking);
  }
}
