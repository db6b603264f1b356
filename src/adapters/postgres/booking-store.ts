// BookingStore on PostgreSQL / PGlite. Every seat decision is a conditional write here.
//
// Locking discipline (invariant 7, and why nothing deadlocks):
// - A hold claims seats with SELECT … FOR UPDATE SKIP LOCKED: a seat another request is
//   touching right now counts as taken, so a hold never waits on another user's locks.
// - The only lock a hold waits for is its own user's advisory lock (the per-user cap).
// - Confirm and cancel lock the reservation row first, then its seats; the sweeper takes
//   reservation rows with SKIP LOCKED. Locks are always taken reservation → seats.
import { randomUUID } from 'node:crypto';
import { DomainError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type { ReservationStatus, SeatStatus } from '../../domain/holds.ts';
import { waitingRoomOff, type WaitingRoomSettings } from '../../domain/waiting-room.ts';
import type {
  BookingRecord,
  BookingStore,
  CancelOutcome,
  ConfirmCommand,
  ConfirmOutcome,
  EventRecord,
  ExpiredHolds,
  HoldCommand,
  HoldOutcome,
  IdempotencyClaim,
  IdempotencyKeyRef,
  IdempotencyLease,
  NewEvent,
  ReservationRecord,
  SeatCounts,
  SeatDetail,
  SeatSnapshot,
  SeatState,
  StoredResponse,
} from '../../app/ports.ts';
import type { Database } from './database.ts';
import type { ExpandedRow } from '../../domain/seat-map.ts';

export interface EventRow {
  id: string;
  organizer_id: string;
  name: string;
  category: string;
  starts_at: Date;
  venue_name: string;
  venue_city: string;
  sale_opens_at: Date;
  max_seats_per_user: number;
  currency: string;
  price_tiers: EventRecord['priceTiers'];
  sections: EventRecord['sections'];
  seat_count: number;
  created_at: Date;
  status: EventRecord['status'];
  description: string;
  venue_id: string | null;
  price_min_cents: number;
  price_max_cents: number;
  updated_at: Date;
  performers: { id: string; name: string }[];
  waiting_room: StoredWaitingRoom;
}

/** The waiting_room column: snake_case, as the API shows it; absent members take defaults. */
interface StoredWaitingRoom {
  enabled: boolean;
  admit_per_minute?: number;
  max_active_shoppers?: number | null;
  admission_window_seconds?: number;
}

export function storedWaitingRoom(settings: WaitingRoomSettings): string {
  return JSON.stringify({
    enabled: settings.enabled,
    admit_per_minute: settings.admitPerMinute,
    max_active_shoppers: settings.maxActiveShoppers,
    admission_window_seconds: settings.admissionWindowMs / 1000,
  });
}

function toWaitingRoom(stored: StoredWaitingRoom): WaitingRoomSettings {
  return {
    enabled: stored.enabled,
    admitPerMinute: stored.admit_per_minute ?? waitingRoomOff.admitPerMinute,
    maxActiveShoppers: stored.max_active_shoppers ?? null,
    admissionWindowMs:
      stored.admission_window_seconds === undefined
        ? waitingRoomOff.admissionWindowMs
        : stored.admission_window_seconds * 1000,
  };
}

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

interface SeatRow {
  seat_no: number;
  section: string;
  row_label: string;
  number: number;
  price_cents: number;
}

const eventInsertColumns = `id, organizer_id, name, category, starts_at, venue_name, venue_city, sale_opens_at,
  max_seats_per_user, currency, price_tiers, sections, seat_count, created_at, status, description, venue_id,
  price_min_cents, price_max_cents, updated_at, waiting_room`;

/** Every column of an EventRow, for a query over `events e`. */
export const eventColumns = `e.id, e.organizer_id, e.name, e.category, e.starts_at, e.venue_name, e.venue_city,
  e.sale_opens_at, e.max_seats_per_user, e.currency, e.price_tiers, e.sections, e.seat_count, e.created_at,
  e.status, e.description, e.venue_id, e.price_min_cents, e.price_max_cents, e.updated_at, e.waiting_room,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'name', p.name) ORDER BY ep.position), '[]')
   FROM event_performers ep JOIN performers p ON p.id = ep.performer_id WHERE ep.event_id = e.id) AS performers`;

const reservationColumns = `r.id, r.event_id, r.user_id, r.status, r.fencing_token, r.seat_nos, r.total_cents,
  r.currency, r.created_at, r.expires_at, b.id AS booking_id`;

const bookingColumns = 'id, reservation_id, event_id, user_id, seat_nos, total_cents, currency, created_at';

// A seat's status at $now, the SQL twin of domain/holds.ts seatStatusAt.
const seatStatusSql = (now: string, alias = '') =>
  `CASE WHEN ${alias}booking_id IS NOT NULL THEN 'booked' WHEN ${alias}hold_expires_at > ${now} THEN 'held' ELSE 'available' END`;

const freedSeat = (seatNo: number, version: number): SeatState => ({
  seatNo,
  version,
  status: 'available',
  holder: null,
  expiresAtMs: null,
});

export function toEvent(row: EventRow): EventRecord {
  return {
    id: row.id,
    organizerId: row.organizer_id,
    name: row.name,
    category: row.category,
    description: row.description,
    status: row.status,
    startsAtMs: row.starts_at.getTime(),
    venue: { name: row.venue_name, city: row.venue_city },
    venueId: row.venue_id,
    performerIds: row.performers.map((performer) => performer.id),
    performers: row.performers,
    priceMinCents: row.price_min_cents,
    priceMaxCents: row.price_max_cents,
    updatedAtMs: row.updated_at.getTime(),
    saleOpensAtMs: row.sale_opens_at.getTime(),
    maxSeatsPerUser: row.max_seats_per_user,
    currency: row.currency,
    priceTiers: row.price_tiers,
    sections: row.sections,
    seatCount: row.seat_count,
    waitingRoom: toWaitingRoom(row.waiting_room),
    createdAtMs: row.created_at.getTime(),
  };
}

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

function toSeatDetail(row: SeatRow): SeatDetail {
  return {
    seatNo: row.seat_no,
    section: row.section,
    row: row.row_label,
    number: row.number,
    priceCents: row.price_cents,
  };
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const candidate = error as { code?: string; constraint?: string; message?: string };
  return (
    candidate?.code === '23505' && (candidate.constraint === constraint || !!candidate.message?.includes(constraint))
  );
}

export const ts = (ms: number) => new Date(ms);

type Executor = { query: Database['query'] };

/**
 * Inserts an event's seats in one statement: the rows go over as arrays and the database
 * expands each into its seats (100,000 seats is one round trip, not 100,000).
 */
export async function insertSeats(tx: Executor, eventId: string, rows: ExpandedRow[]): Promise<void> {
  await tx.query(
    `INSERT INTO seats (event_id, seat_no, section, row_label, number, price_tier, price_cents)
     SELECT $1, r.first_seat_no + g.n - 1, r.section, r.row_label, g.n, r.price_tier, r.price_cents
     FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::bigint[])
          AS r(section, row_label, seat_count, first_seat_no, price_tier, price_cents)
     CROSS JOIN LATERAL generate_series(1, r.seat_count) AS g(n)`,
    [
      eventId,
      rows.map((row) => row.sectionName),
      rows.map((row) => row.rowLabel),
      rows.map((row) => row.seatCount),
      rows.map((row) => row.firstSeatNo),
      rows.map((row) => row.priceTierId),
      rows.map((row) => row.priceCents),
    ],
  );
}

/**
 * Refreshes the planner's statistics of the seats table after an event's seats were
 * written. Without them PostgreSQL takes a new event for a handful of rows and answers
 * `event_id = $1 AND seat_no = ANY($2)` (every hold, confirm and release) by reading all
 * of the event's seats instead of the few asked for: 12 ms instead of 0.05 ms per
 * statement at 100,000 seats on PostgreSQL 15, right when its sale opens, long before
 * autovacuum's next look (PGlite has no autovacuum at all). ANALYZE samples a fixed number
 * of rows, so it costs about the same for any table size. Best effort: the seats are written; a failed or skipped
 * refresh (another one is running) leaves the plans to autovacuum.
 */
export async function refreshSeatStatistics(db: Executor): Promise<void> {
  await db.query('ANALYZE (SKIP_LOCKED) seats').catch(() => undefined);
}

/** Replaces the event's performers, in the order given. */
export async function setPerformers(tx: Executor, eventId: string, performerIds: string[]): Promise<void> {
  await tx.query('DELETE FROM event_performers WHERE event_id = $1', [eventId]);
  if (performerIds.length === 0) return;
  await tx.query(
    `INSERT INTO event_performers (event_id, performer_id, position)
     SELECT $1, performer_id, position FROM unnest($2::uuid[]) WITH ORDINALITY AS p(performer_id, position)`,
    [eventId, performerIds],
  );
}

export class PostgresBookingStore implements BookingStore {
  // Every hold reads its event; in a flash sale that is one row read thousands of times a
  // second. A short-lived copy per process: an edit is seen at once by the process that
  // made it and within the TTL by the others.
  private readonly eventCache = new Map<string, { event: EventRecord; freshUntilMs: number }>();
  private readonly eventReads = new Map<string, Promise<EventRecord | null>>();

  constructor(
    private readonly db: Database,
    private readonly eventCacheTtlMs = 1_000,
    private readonly eventCacheEntriesMax = 10_000,
  ) {}

  async createEvent(event: NewEvent): Promise<string> {
    const id = randomUUID();
    const { seatCount, currency } = event.seatMap;
    const sections = event.sections.map((section) => ({
      name: section.name,
      price_tier: section.price_tier,
      rows: section.rows.map((row) => ({ label: row.label, seats: row.seats })),
      ...(section.position ? { position: section.position } : {}),
    }));
    await this.db.transaction(async (tx) => {
      const prices = event.priceTiers.map((tier) => tier.price_cents);
      await tx.query(
        `INSERT INTO events (${eventInsertColumns})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $14, $20)`,
        [
          id,
          event.organizerId,
          event.name,
          event.category,
          ts(event.startsAtMs),
          event.venue.name,
          event.venue.city,
          ts(event.saleOpensAtMs),
          event.maxSeatsPerUser,
          currency,
          JSON.stringify(event.priceTiers),
          JSON.stringify(sections),
          seatCount,
          ts(event.createdAtMs),
          event.status,
          event.description,
          event.venueId,
          Math.min(...prices),
          Math.max(...prices),
          storedWaitingRoom(event.waitingRoom),
        ],
      );
      await insertSeats(tx, id, event.seatMap.rows);
      await setPerformers(tx, id, event.performerIds);
      await tx.query('SELECT refresh_event_search($1)', [id]);
    });
    await refreshSeatStatistics(this.db);
    return id;
  }

  async findEvent(id: string): Promise<EventRecord | null> {
    if (!isUuid(id)) return null;
    // Kept under the id as PostgreSQL spells it (event.id, lower case): every spelling of
    // one UUID shares one copy and one read.
    const eventId = id.toLowerCase();
    const cached = this.eventCache.get(eventId);
    if (cached && cached.freshUntilMs > Date.now()) return cached.event;
    // One read per event at a time: when the copy runs out mid-sale, the requests in flight
    // wait for that read instead of each taking a pooled connection for the same row.
    const reading = this.eventReads.get(eventId);
    if (reading) return reading;
    const read: Promise<EventRecord | null> = this.db
      .query<EventRow>(`SELECT ${eventColumns} FROM events e WHERE e.id = $1`, [eventId])
      .then(({ rows }) => {
        const event = rows[0] ? toEvent(rows[0]) : null;
        // Not kept when forgotten meanwhile (an edit): the next caller reads again.
        if (event && this.eventReads.get(eventId) === read) {
          if (this.eventCache.size >= this.eventCacheEntriesMax) this.eventCache.clear();
          this.eventCache.set(eventId, { event, freshUntilMs: Date.now() + this.eventCacheTtlMs });
        }
        return event;
      })
      .finally(() => {
        if (this.eventReads.get(eventId) === read) this.eventReads.delete(eventId);
      });
    this.eventReads.set(eventId, read);
    return read;
  }

  forgetEvent(id: string): void {
    const eventId = id.toLowerCase();
    this.eventCache.delete(eventId);
    this.eventReads.delete(eventId);
  }

  async countSeats(eventId: string, nowMs: number): Promise<SeatCounts> {
    const { rows } = await this.db.query<{ total: number; held: number; booked: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE booking_id IS NULL AND hold_expires_at > $2)::int AS held,
              count(*) FILTER (WHERE booking_id IS NOT NULL)::int AS booked
       FROM seats WHERE event_id = $1`,
      [eventId, ts(nowMs)],
    );
    const row = rows[0] ?? { total: 0, held: 0, booked: 0 };
    return { available: row.total - row.held - row.booked, held: row.held, booked: row.booked };
  }

  async seatSnapshot(eventId: string, nowMs: number): Promise<SeatSnapshot> {
    const { rows } = await this.db.query<SeatRow & { status: SeatStatus; version: number }>(
      `SELECT seat_no, section, row_label, number, price_cents, version, ${seatStatusSql('$2')} AS status
       FROM seats WHERE event_id = $1 ORDER BY seat_no`,
      [eventId, ts(nowMs)],
    );
    let version = 0;
    const seats = rows.map((row) => {
      if (row.version > version) version = row.version;
      return {
        seatNo: row.seat_no,
        section: row.section,
        row: row.row_label,
        number: row.number,
        priceCents: row.price_cents,
        status: row.status,
      };
    });
    return { version, seats };
  }

  async seatDetails(eventId: string, seatNos: number[]): Promise<SeatDetail[]> {
    const { rows } = await this.db.query<SeatRow>(
      `SELECT seat_no, section, row_label, number, price_cents FROM seats
       WHERE event_id = $1 AND seat_no = ANY($2::int[]) ORDER BY seat_no`,
      [eventId, seatNos],
    );
    return rows.map(toSeatDetail);
  }

  async seatStates(eventId: string, nowMs: number): Promise<SeatState[]> {
    const { rows } = await this.db.query<{
      seat_no: number;
      version: number;
      status: SeatStatus;
      holder: string | null;
      expires_at: Date | null;
    }>(
      `SELECT s.seat_no, s.version, ${seatStatusSql('$2', 's.')} AS status, r.id AS holder, s.hold_expires_at AS expires_at
       FROM seats s
       LEFT JOIN reservations r ON r.fencing_token = s.hold_token AND s.hold_expires_at > $2
       WHERE s.event_id = $1 AND (s.version > 0 OR s.booking_id IS NOT NULL OR s.hold_token IS NOT NULL)`,
      [eventId, ts(nowMs)],
    );
    return rows.map((row) => ({
      seatNo: row.seat_no,
      version: row.version,
      status: row.status,
      holder: row.status === 'held' ? row.holder : null,
      expiresAtMs: row.status === 'held' && row.expires_at ? row.expires_at.getTime() : null,
    }));
  }

  async hasEvents(): Promise<boolean> {
    const { rows } = await this.db.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM events) AS found');
    return rows[0]?.found === true;
  }

  async hold(command: HoldCommand): Promise<HoldOutcome> {
    // One statement, one round trip: the decision is hold_seats() (migrations/002_seat_versions.sql).
    const { reservationId } = command;
    const { rows } = await this.db.query<{
      out_kind: 'held' | 'conflict' | 'user_limit';
      out_token: number;
      out_owned: number;
      out_seat_no: number;
      out_section: string;
      out_row: string;
      out_number: number;
      out_price_cents: number;
      out_version: number;
    }>('SELECT * FROM hold_seats($1, $2, $3::int[], $4, $5, $6, $7, $8)', [
      command.eventId,
      command.userId,
      command.seatNos,
      ts(command.nowMs),
      ts(command.expiresAtMs),
      command.maxSeatsPerUser,
      command.currency,
      reservationId,
    ]);
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

  async confirm(command: ConfirmCommand): Promise<ConfirmOutcome> {
    // One statement, one round trip: the decision is confirm_reservation() (migrations/007_payer_checks.sql).
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

  async claimIdempotencyKey(
    ref: IdempotencyKeyRef,
    requestHash: string,
    nowMs: number,
    staleAfterMs: number,
  ): Promise<IdempotencyClaim> {
    const now = ts(nowMs);
    const lease: IdempotencyLease = { ...ref, lease: randomUUID() };
    const inserted = await this.db.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, state, lease, created_at, locked_at)
       VALUES ($1, $2, $3, 'in_flight', $4, $5, $5) ON CONFLICT (user_id, key) DO NOTHING`,
      [ref.userId, ref.key, requestHash, lease.lease, now],
    );
    if (inserted.rowCount === 1) return { kind: 'claimed', lease, chargeId: null };
    const { rows } = await this.db.query<{ request_hash: string; state: string; response: StoredResponse }>(
      'SELECT request_hash, state, response FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [ref.userId, ref.key],
    );
    const existing = rows[0];
    if (!existing) return this.claimIdempotencyKey(ref, requestHash, nowMs, staleAfterMs); // purged meanwhile
    if (existing.request_hash !== requestHash) return { kind: 'mismatch' };
    if (existing.state === 'completed') return { kind: 'replay', response: existing.response };
    // A claim whose holder died (or gave up after an error) is taken over under a new
    // lease; the old holder, if it still runs, can no longer complete or refund.
    const { rows: taken } = await this.db.query<{ charge_id: string | null }>(
      `UPDATE idempotency_keys SET lease = $3, locked_at = $4
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND locked_at <= $5
       RETURNING charge_id`,
      [ref.userId, ref.key, lease.lease, now, ts(nowMs - staleAfterMs)],
    );
    return taken[0] ? { kind: 'claimed', lease, chargeId: taken[0].charge_id } : { kind: 'in_flight' };
  }

  async recordCharge(lease: IdempotencyLease, chargeId: string): Promise<boolean> {
    const updated = await this.db.query(
      `UPDATE idempotency_keys SET charge_id = $4
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND lease = $3`,
      [lease.userId, lease.key, lease.lease, chargeId],
    );
    return updated.rowCount === 1;
  }

  async completeIdempotencyKey(lease: IdempotencyLease, response: StoredResponse): Promise<boolean> {
    const updated = await this.db.query(
      `UPDATE idempotency_keys SET state = 'completed', response = $4
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND lease = $3`,
      [lease.userId, lease.key, lease.lease, JSON.stringify(response)],
    );
    return updated.rowCount === 1;
  }

  async abandonIdempotencyKey(lease: IdempotencyLease): Promise<void> {
    // The row (and its request hash) stays: a retry must still send the same request.
    await this.db.query(
      `UPDATE idempotency_keys SET locked_at = 'epoch'
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND lease = $3`,
      [lease.userId, lease.key, lease.lease],
    );
  }

  async purgeIdempotencyKeys(createdBeforeMs: number, batchSize: number): Promise<number> {
    const deleted = await this.db.query(
      `DELETE FROM idempotency_keys WHERE (user_id, key) IN (
         SELECT user_id, key FROM idempotency_keys
         WHERE state = 'completed' AND created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [ts(createdBeforeMs), batchSize],
    );
    return deleted.rowCount;
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

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }
}
