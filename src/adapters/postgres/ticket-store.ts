// TicketStore on PostgreSQL / PGlite (migration 012's checkins): a check-in is one
// statement that reads the booking under FOR SHARE (a cancellation, which locks it FOR
// UPDATE, waits or is waited for) and inserts the check-in; the primary key admits a
// ticket once however many scanners race.
import { randomBytes } from 'node:crypto';
import { isUuid } from '../../domain/ids.ts';
import type { CheckInOutcome, TicketRecord, TicketStore } from '../../app/ports/tickets.ts';
import type { Database } from './database.ts';
import { ts } from './sql.ts';

export class PostgresTicketStore implements TicketStore {
  constructor(private readonly db: Database) {}

  async ticketsOfBooking(bookingId: string): Promise<TicketRecord[]> {
    if (!isUuid(bookingId)) return [];
    const { rows } = await this.db.query<{
      event_id: string;
      seat_no: number;
      refunded: boolean;
      checked_in_at: Date | null;
    }>(
      `SELECT b.event_id, t.seat_no, t.refunded, c.checked_in_at
       FROM bookings b
       CROSS JOIN LATERAL (
         SELECT unnest(b.seat_nos) AS seat_no, false AS refunded
         UNION ALL SELECT rs.seat_no, true FROM refunded_seats rs WHERE rs.booking_id = b.id) AS t
       LEFT JOIN checkins c ON c.booking_id = b.id AND c.seat_no = t.seat_no
       WHERE b.id = $1 ORDER BY t.seat_no`,
      [bookingId],
    );
    return rows.map((row) => ({
      bookingId,
      eventId: row.event_id,
      seatNo: row.seat_no,
      status: row.refunded ? 'revoked' : row.checked_in_at ? 'checked_in' : 'valid',
      checkedInAtMs: row.checked_in_at?.getTime() ?? null,
    }));
  }

  async checkIn(input: {
    bookingId: string;
    eventId: string;
    seatNo: number;
    nowMs: number;
    by: string;
  }): Promise<CheckInOutcome> {
    const params = [input.bookingId, input.eventId, input.seatNo, ts(input.nowMs), input.by];
    const { rows } = await this.db.query<{ holds: boolean | null; admitted: Date | null; earlier: Date | null }>(
      `WITH b AS (
         SELECT id, event_id, $3::int = ANY(seat_nos) AS holds FROM bookings WHERE id = $1 AND event_id = $2 FOR SHARE
       ), admitted AS (
         INSERT INTO checkins (booking_id, seat_no, event_id, checked_in_at, checked_in_by)
         SELECT b.id, $3, b.event_id, $4, $5 FROM b WHERE b.holds
         ON CONFLICT DO NOTHING RETURNING checked_in_at
       )
       SELECT (SELECT holds FROM b) AS holds, (SELECT checked_in_at FROM admitted) AS admitted,
              (SELECT checked_in_at FROM checkins WHERE booking_id = $1 AND seat_no = $3) AS earlier`,
      params,
    );
    const row = rows[0]!;
    if (row.admitted) return { kind: 'admitted', checkedInAtMs: row.admitted.getTime() };
    if (row.earlier) return { kind: 'already_checked_in', checkedInAtMs: row.earlier.getTime() };
    if (row.holds === null) return { kind: 'unknown' };
    if (row.holds === false) return { kind: 'revoked' };
    // A scan that raced another: its insert waited for the other's commit, and this
    // statement's snapshot predates it. Read it now.
    const again = await this.db.query<{ checked_in_at: Date }>(
      'SELECT checked_in_at FROM checkins WHERE booking_id = $1 AND seat_no = $2',
      [input.bookingId, input.seatNo],
    );
    if (again.rows[0]) return { kind: 'already_checked_in', checkedInAtMs: again.rows[0].checked_in_at.getTime() };
    throw new Error(`assertion: ticket ${input.bookingId}/${input.seatNo} neither admitted nor checked in`);
  }

  async storedSigningSecret(): Promise<string> {
    await this.db.query(
      `INSERT INTO service_secrets (name, secret) VALUES ('ticket_signing_key', $1) ON CONFLICT DO NOTHING`,
      [randomBytes(32).toString('base64url')],
    );
    const { rows } = await this.db.query<{ secret: string }>(
      `SELECT secret FROM service_secrets WHERE name = 'ticket_signing_key'`,
    );
    return rows[0]!.secret;
  }
}
