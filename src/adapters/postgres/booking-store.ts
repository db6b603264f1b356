// BookingStore on PostgreSQL / PGlite: who is paying for a hold, the booking step, the
// charges to refund, and the bookings. Confirm locks the reservation row first, then its
// seats, as every writer does (see reservation-store.ts).
import { randomUUID } from 'node:crypto';
import { DomainError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type { BookingRecord, BookingStore, ConfirmCommand, ConfirmOutcome } from '../../app/ports/bookings.ts';
import type { SeatState } from '../../app/ports/events.ts';
import type { StoredResponse } from '../../app/ports/idempotency.ts';
import type { Database } from './database.ts';
import { isUniqueViolation, ts } from './sql.ts';

interface BookingRow {
  id: string;
  reservation_id: string;
  event_id: string;
  user_id: string;
  seat_nos: number[];
  total_cents: number;
  currency: string;
  created_at: Date;
}

const bookingColumns = 'id, reservation_id, event_id, user_id, seat_nos, total_cents, currency, created_at';

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
  };
}

export class PostgresBookingStore implements BookingStore {
  constructor(private readonly db: Database) {}

  async confirm(command: ConfirmCommand): Promise<ConfirmOutcome> {
    // One statement, one round trip: the decision is confirm_reservation() (migrations/functions/confirm_reservation.sql).
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
    };
    const booked = command.responseFor(booking);
    const refusals = Object.fromEntries(
      (['expired', 'cancelled', 'confirmed', 'event_cancelled', 'superseded'] as const).map((status) => [
        status,
        command.refusalFor(status),
      ]),
    );
    try {
      const { rows } = await this.db.query<{
        out_kind: 'confirmed' | 'hold_lost' | 'lease_lost';
        out_response: StoredResponse;
        out_changes: [number, number, 'booked' | 'available'][];
      }>('SELECT * FROM confirm_reservation($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
        reservation.id,
        lease.userId,
        lease.key,
        lease.lease,
        ts(nowMs),
        booking.id,
        command.chargeId,
        JSON.stringify(booked),
        JSON.stringify(refusals),
        command.payment.payerKey,
        command.payment.attempt,
      ]);
      const { out_kind: kind, out_response: response } = rows[0]!;
      const changes = rows[0]!.out_changes.map(([seatNo, version, status]): SeatState => ({
        seatNo,
        version,
        status,
        holder: null,
        expiresAtMs: null,
      }));
      if (kind === 'lease_lost') return { kind };
      if (kind === 'hold_lost') return { kind, response, changes };
      return { kind, booking, response, changes };
    } catch (error) {
      // Invariant 1's backstop: the primary key refused a seat that is already booked.
      if (isUniqueViolation(error, 'booked_seats_pkey')) {
        throw new DomainError('SEAT_UNAVAILABLE', 'a seat of this reservation is already booked');
      }
      throw error;
    }
  }

  async beginPayment(reservationId: string, payerKey: string, nowMs: number, staleAfterMs: number) {
    const now = ts(nowMs);
    // Taking over from another, stale payer starts a new attempt (a new provider key): the
    // stale payer's charge, if it is still on its way, can then never be the one that books.
    const { rows: started } = await this.db.query<{ payment_attempt: number }>(
      `UPDATE reservations SET paying_key = $2, paying_since = $3, payment_started = true,
         payment_attempt = CASE WHEN paying_key IS NOT NULL AND paying_key <> $2
                                THEN payment_attempt + 1 ELSE payment_attempt END
       WHERE id = $1 AND status = 'active' AND expires_at > $3
         AND (paying_key IS NULL OR paying_key = $2 OR paying_since <= $4)
       RETURNING payment_attempt`,
      [reservationId, payerKey, now, ts(nowMs - staleAfterMs)],
    );
    if (started[0]) return { kind: 'started' as const, attempt: started[0].payment_attempt };
    const { rows } = await this.db.query<{ live: boolean }>(
      `SELECT status = 'active' AND expires_at > $2 AS live FROM reservations WHERE id = $1`,
      [reservationId, now],
    );
    return rows[0]?.live ? { kind: 'busy' as const } : { kind: 'ended' as const };
  }

  async releasePayment(reservationId: string, payerKey: string, attempt: number): Promise<void> {
    await this.db.query(
      `UPDATE reservations SET paying_key = NULL, paying_since = NULL
       WHERE id = $1 AND paying_key = $2 AND payment_attempt = $3`,
      [reservationId, payerKey, attempt],
    );
  }

  async endDeclinedPayment(reservationId: string, payerKey: string, attempt: number): Promise<void> {
    await this.db.query(
      `UPDATE reservations SET paying_key = NULL, paying_since = NULL, payment_attempt = payment_attempt + 1
       WHERE id = $1 AND paying_key = $2 AND payment_attempt = $3`,
      [reservationId, payerKey, attempt],
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

  async bookedCharge(reservationId: string): Promise<string | null> {
    const { rows } = await this.db.query<{ charge_id: string }>(
      'SELECT charge_id FROM bookings WHERE reservation_id = $1',
      [reservationId],
    );
    return rows[0]?.charge_id ?? null;
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
