// ReservationStore on PostgreSQL / PGlite: holds, and how they end (cancelled, expired).
//
// Locking discipline (invariant 7, and why nothing deadlocks):
// - A hold claims seats with SELECT … FOR UPDATE SKIP LOCKED: a seat another request is
//   touching right now counts as taken, so a hold never waits on another user's locks.
// - The only lock a hold waits for is its own user's advisory lock (the per-user cap).
// - Confirm (booking-store.ts) and cancel lock the reservation row first, then its seats;
//   the sweeper takes reservation rows with SKIP LOCKED. Locks are always taken
//   reservation → seats.
import { isUuid } from '../../domain/ids.ts';
import type { ReservationStatus } from '../../domain/holds.ts';
import type { SeatState } from '../../app/ports/events.ts';
import type {
  CancelOutcome,
  ExpiredHolds,
  HoldCommand,
  HoldOutcome,
  ReservationRecord,
  ReservationStore,
} from '../../app/ports/reservations.ts';
import type { Database } from './database.ts';
import { ts } from './sql.ts';
import { type BatchSettings, queryBatch, WriteBatcher } from './write-batcher.ts';

interface ReservationRow {
  id: string;
  event_id: string;
  user_id: string;
  status: ReservationStatus;
  fencing_token: number;
  seat_nos: number[];
  total_cents: number;
  currency: string;
  created_at: Date;
  expires_at: Date;
  booking_id: string | null;
}

const reservationColumns = `r.id, r.event_id, r.user_id, r.status, r.fencing_token, r.seat_nos, r.total_cents,
  r.currency, r.created_at, r.expires_at, b.id AS booking_id`;

export const freedSeat = (seatNo: number, version: number): SeatState => ({
  seatNo,
  version,
  status: 'available',
  holder: null,
  expiresAtMs: null,
});

function toReservation(row: ReservationRow): ReservationRecord {
  return {
    id: row.id,
    eventId: row.event_id,
    userId: row.user_id,
    status: row.status,
    fencingToken: row.fencing_token,
    seatNos: row.seat_nos,
    totalCents: row.total_cents,
    currency: row.currency,
    createdAtMs: row.created_at.getTime(),
    expiresAtMs: row.expires_at.getTime(),
    bookingId: row.booking_id,
  };
}

/** hold_seats()'s arguments, as one element of hold_seats_batch()'s array. */
interface HoldRequest {
  event: string;
  user: string;
  seat_nos: number[];
  now: string;
  expires: string;
  max_per_user: number;
  currency: string;
  reservation: string;
}

interface HoldRow {
  out_kind: 'held' | 'conflict' | 'user_limit';
  out_token: number;
  out_owned: number;
  out_seat_no: number;
  out_section: string;
  out_row: string;
  out_number: number;
  out_price_cents: number;
  out_version: number;
}

export class PostgresReservationStore implements ReservationStore {
  private readonly holds: WriteBatcher<HoldRequest, HoldRow[]>;

  constructor(
    private readonly db: Database,
    batching: BatchSettings = { windowMs: 0, max: 1 },
  ) {
    this.holds = new WriteBatcher(
      batching,
      (requests) => queryBatch<HoldRow>(db, 'hold_seats_batch', requests),
      async (request) =>
        (
          await db.query<HoldRow>('SELECT * FROM hold_seats($1, $2, $3::int[], $4, $5, $6, $7, $8)', [
            request.event,
            request.user,
            request.seat_nos,
            request.now,
            request.expires,
            request.max_per_user,
            request.currency,
            request.reservation,
          ])
        ).rows,
    );
  }

  /** Batches sent (for the metrics). */
  batchStats() {
    return { holds: this.holds.stats };
  }

  async hold(command: HoldCommand): Promise<HoldOutcome> {
    // One statement, one round trip, shared with the other holds of its batch: the decision
    // is hold_seats() (migrations/functions/hold_seats.sql).
    const { reservationId } = command;
    const rows = await this.holds.submit({
      event: command.eventId,
      user: command.userId,
      seat_nos: command.seatNos,
      now: new Date(command.nowMs).toISOString(),
      expires: new Date(command.expiresAtMs).toISOString(),
      max_per_user: command.maxSeatsPerUser,
      currency: command.currency,
      reservation: reservationId,
    });
    const first = rows[0]!;
    if (first.out_kind === 'user_limit') return { kind: 'user_limit', heldOrBooked: first.out_owned };
    if (first.out_kind === 'conflict') return { kind: 'conflict', seatNos: rows.map((row) => row.out_seat_no) };
    const seats = rows.map((row) => ({
      seatNo: row.out_seat_no,
      section: row.out_section,
      row: row.out_row,
      number: row.out_number,
      priceCents: row.out_price_cents,
    }));
    const reservation: ReservationRecord = {
      id: reservationId,
      eventId: command.eventId,
      userId: command.userId,
      status: 'active',
      fencingToken: first.out_token,
      seatNos: command.seatNos,
      totalCents: seats.reduce((sum, seat) => sum + seat.priceCents, 0),
      currency: command.currency,
      createdAtMs: command.nowMs,
      expiresAtMs: command.expiresAtMs,
      bookingId: null,
    };
    const changes = rows.map((row): SeatState => ({
      seatNo: row.out_seat_no,
      version: row.out_version,
      status: 'held',
      holder: reservationId,
      expiresAtMs: command.expiresAtMs,
    }));
    return { kind: 'held', reservation, seats, changes };
  }

  async findReservation(reservationId: string): Promise<ReservationRecord | null> {
    if (!isUuid(reservationId)) return null;
    const { rows } = await this.db.query<ReservationRow>(
      `SELECT ${reservationColumns} FROM reservations r LEFT JOIN bookings b ON b.reservation_id = r.id WHERE r.id = $1`,
      [reservationId],
    );
    return rows[0] ? toReservation(rows[0]) : null;
  }

  async hasLiveHold(eventId: string, userId: string, nowMs: number): Promise<boolean> {
    const { rows } = await this.db.query<{ live: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM reservations
                      WHERE event_id = $1 AND user_id = $2 AND status = 'active' AND expires_at > $3) AS live`,
      [eventId, userId, ts(nowMs)],
    );
    return rows[0]?.live === true;
  }

  async listUserReservations(userId: string, options: { liveAt?: number; limit: number }) {
    // reservations_by_buyer (migration 017) serves both: the live ones are among the newest.
    const live = options.liveAt === undefined ? '' : `AND r.status = 'active' AND r.expires_at > $3`;
    const { rows } = await this.db.query<ReservationRow>(
      `SELECT ${reservationColumns} FROM reservations r LEFT JOIN bookings b ON b.reservation_id = r.id
       WHERE r.user_id = $1 ${live} ORDER BY r.created_at DESC, r.id LIMIT $2`,
      options.liveAt === undefined ? [userId, options.limit] : [userId, options.limit, ts(options.liveAt)],
    );
    return rows.map(toReservation);
  }

  async cancel(reservation: ReservationRecord, nowMs: number): Promise<CancelOutcome> {
    return this.db.transaction(async (tx): Promise<CancelOutcome> => {
      const { rows } = await tx.query<{ status: ReservationStatus; expires_at: Date }>(
        'SELECT status, expires_at FROM reservations WHERE id = $1 FOR UPDATE',
        [reservation.id],
      );
      const current = rows[0];
      if (current?.status === 'confirmed') return { kind: 'confirmed' };
      // A hold past its expiry has ended, swept or not: it stays "expired", not "cancelled".
      if (current?.status !== 'active' || current.expires_at.getTime() <= nowMs) return { kind: 'already_ended' };
      await tx.query(`UPDATE reservations SET status = 'cancelled', ended_at = $2 WHERE id = $1`, [
        reservation.id,
        ts(nowMs),
      ]);
      // Frees the seats that still carry this reservation's fencing token.
      const freed = await tx.query<{ seat_no: number; version: number }>(
        `UPDATE seats SET hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
         WHERE event_id = $1 AND seat_no = ANY($2::int[]) AND hold_token = $3
         RETURNING seat_no, version`,
        [reservation.eventId, reservation.seatNos, reservation.fencingToken],
      );
      return { kind: 'cancelled', changes: freed.rows.map((row) => freedSeat(row.seat_no, row.version)) };
    });
  }

  async expireDue(nowMs: number, batchSize: number): Promise<ExpiredHolds> {
    // SKIP LOCKED: several sweepers (one per process) split the work and never wait for
    // each other, nor for a confirm or cancel that holds a reservation row.
    const { rows } = await this.db.query<{ ended: number; freed: [string, number, number][] }>(
      `WITH due AS (
         SELECT id FROM reservations WHERE status = 'active' AND expires_at <= $1
         ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), ended AS (
         UPDATE reservations r SET status = 'expired', ended_at = $1
         FROM due WHERE r.id = due.id
         RETURNING r.event_id, r.seat_nos, r.fencing_token
       ), freed AS (
         UPDATE seats s SET hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
         FROM ended WHERE s.event_id = ended.event_id AND s.seat_no = ANY(ended.seat_nos) AND s.hold_token = ended.fencing_token
         RETURNING s.event_id, s.seat_no, s.version
       )
       SELECT (SELECT count(*) FROM ended)::int AS ended,
              (SELECT coalesce(jsonb_agg(jsonb_build_array(event_id, seat_no, version)), '[]') FROM freed) AS freed`,
      [ts(nowMs), batchSize],
    );
    const changes = new Map<string, SeatState[]>();
    for (const [eventId, seatNo, version] of rows[0]?.freed ?? []) {
      const list = changes.get(eventId) ?? [];
      list.push(freedSeat(seatNo, version));
      changes.set(eventId, list);
    }
    return { ended: rows[0]?.ended ?? 0, changes };
  }
}
