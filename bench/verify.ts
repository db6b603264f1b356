// The benchmark's own database access: the throwaway PostgreSQL database of a run, and the
// correctness checks run after each scenario, straight against the tables of
// migrations/001_core.sql (never through the service under test), and the ceiling server's
// Redis hash after a ceiling scenario.
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Redis } from 'ioredis';
import pg from 'pg';

const benchApplicationName = 'boxoffice-bench';

export type Query = <Row>(text: string, params?: unknown[]) => Promise<Row[]>;

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: benchApplicationName,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name ${name}`);
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  return databaseUrl(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a benchmark database`);
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export async function postgresVersion(adminUrl: string): Promise<string> {
  return withClient(
    adminUrl,
    async (client) => (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v,
  );
}

export async function withPostgres<T>(url: string, fn: (query: Query) => Promise<T>): Promise<T> {
  return withClient(url, (client) =>
    fn(async <Row>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as Row[]),
  );
}

/** Opens the PGlite data directory of a stopped server (it serves one process at a time). */
export async function withPglite<T>(dataDir: string, fn: (query: Query) => Promise<T>): Promise<T> {
  const db = await PGlite.create(path.resolve(dataDir, 'pglite'));
  try {
    return await fn(async <Row>(text: string, params?: unknown[]) => (await db.query<Row>(text, params)).rows);
  } finally {
    await db.close();
  }
}

export interface WaitSampler {
  /** Stops sampling; returns how often each "wait event type:wait event:state" was seen, most frequent first. */
  stop(): Promise<{ samples: number; states: Record<string, number> }>;
}

/**
 * Samples pg_stat_activity every intervalMs for the service's connections to this
 * database (the benchmark's own are left out). "Client:ClientRead:idle in transaction"
 * means PostgreSQL waits for the service to send the next statement of a transaction.
 */
export async function startWaitSampler(url: string, intervalMs = 100): Promise<WaitSampler> {
  const client = new pg.Client({ connectionString: url, application_name: benchApplicationName });
  await client.connect();
  const states: Record<string, number> = {};
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ key: string }>(
        `SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') || ':' || coalesce(state, '-') AS key
         FROM pg_stat_activity
         WHERE datname = current_database() AND backend_type = 'client backend' AND application_name <> $1`,
        [benchApplicationName],
      );
      samples += 1;
      for (const row of rows) states[row.key] = (states[row.key] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop.catch(() => {});
      await client.end().catch(() => {});
      return { samples, states: Object.fromEntries(Object.entries(states).sort((a, b) => b[1] - a[1])) };
    },
  };
}

export interface DatabaseStats {
  deadlocks: number;
  xact_commit: number;
  xact_rollback: number;
  conflicts: number;
}

export async function databaseStats(query: Query): Promise<DatabaseStats | null> {
  const rows = await query<DatabaseStats>(
    `SELECT deadlocks::int AS deadlocks, xact_commit::int AS xact_commit, xact_rollback::int AS xact_rollback,
            conflicts::int AS conflicts
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  return rows[0] ?? null;
}

export interface EventCheck {
  ok: boolean;
  seats: number;
  distinct_seat_nos: number;
  problems: string[];
}

/** The event has exactly `expected` seat rows, numbered 0 … expected-1. */
export async function verifyEventSeats(query: Query, eventId: string, expected: number): Promise<EventCheck> {
  const rows = await query<{ seats: number; distinct_seat_nos: number; lowest: number; highest: number }>(
    `SELECT count(*)::int AS seats, count(DISTINCT seat_no)::int AS distinct_seat_nos,
            coalesce(min(seat_no), -1)::int AS lowest, coalesce(max(seat_no), -1)::int AS highest
     FROM seats WHERE event_id = $1`,
    [eventId],
  );
  const row = rows[0]!;
  const problems: string[] = [];
  if (row.seats !== expected) problems.push(`event ${eventId}: ${row.seats} seat rows, expected ${expected}`);
  if (row.distinct_seat_nos !== row.seats || row.lowest !== 0 || row.highest !== expected - 1) {
    problems.push(`event ${eventId}: seat numbers are not 0..${expected - 1} without gaps or duplicates`);
  }
  return { ok: problems.length === 0, seats: row.seats, distinct_seat_nos: row.distinct_seat_nos, problems };
}

const countOf = async (query: Query, text: string, params: unknown[]) =>
  (await query<{ n: number }>(text, params))[0]?.n ?? 0;

/** Seats named by more than one live (active and unexpired, or confirmed) reservation. */
export const countOversold = (query: Query, eventId: string, now: Date) =>
  countOf(
    query,
    `SELECT count(*)::int AS n FROM (
       SELECT seat_no FROM (
         SELECT unnest(seat_nos) AS seat_no FROM reservations
         WHERE event_id = $1 AND ((status = 'active' AND expires_at > $2) OR status = 'confirmed')) x
       GROUP BY seat_no HAVING count(*) > 1) d`,
    [eventId, now],
  );

/** Live active reservations whose seats do not all carry their fencing token. */
export const countPartialHolds = (query: Query, eventId: string, now: Date) =>
  countOf(
    query,
    `SELECT count(*)::int AS n FROM reservations r
     WHERE r.event_id = $1 AND r.status = 'active' AND r.expires_at > $2
       AND (SELECT count(*) FROM seats s
            WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
              AND s.hold_expires_at > $2 AND s.booking_id IS NULL) <> cardinality(r.seat_nos)`,
    [eventId, now],
  );

/** Seats held (unbooked, unexpired hold) under no active reservation of theirs. */
const countOrphanHeldSeats = (query: Query, eventId: string, now: Date) =>
  countOf(
    query,
    `SELECT count(*)::int AS n FROM seats s
     WHERE s.event_id = $1 AND s.booking_id IS NULL AND s.hold_expires_at > $2
       AND NOT EXISTS (SELECT 1 FROM reservations r
                       WHERE r.fencing_token = s.hold_token AND r.event_id = s.event_id AND r.status = 'active'
                         AND s.seat_no = ANY(r.seat_nos))`,
    [eventId, now],
  );

const countHeldSeats = (query: Query, eventId: string, now: Date) =>
  countOf(
    query,
    `SELECT count(*)::int AS n FROM seats WHERE event_id = $1 AND booking_id IS NULL AND hold_expires_at > $2`,
    [eventId, now],
  );

export interface HoldExpectation {
  eventId: string;
  /** reservation_id of every 201 the load generator read → the seat numbers it asked for. */
  acknowledged: Map<string, number[]>;
  /** Seats 0 … hotSeats-1 are the contended set (contended scenario only). */
  hotSeats?: number;
}

export interface HoldCheck {
  ok: boolean;
  /** Summary line for the report: "oversold: 0, partial holds: 0". */
  summary: string;
  responses_201: number;
  active_reservations: number;
  reservations_other_status: number;
  oversold_seats: number;
  partial_holds: number;
  orphan_held_seats: number;
  held_seats: number;
  seats_in_active_reservations: number;
  booked_seats: number;
  acknowledged_but_not_active: number;
  active_but_not_acknowledged: number;
  seat_mismatches: number;
  hot_seats_held?: number;
  problems: string[];
}

/**
 * After a hold scenario: no seat in two live reservations (oversold), every active
 * reservation holds all its seats under its fencing token (no partial hold), no held seat
 * without its reservation, and the 201s read by the client are exactly the active
 * reservations in the database, each with the seats that request asked for.
 */
export async function verifyHolds(query: Query, expectation: HoldExpectation, nowMs = Date.now()): Promise<HoldCheck> {
  const now = new Date(nowMs);
  const { eventId } = expectation;
  const one = async (text: string, params: unknown[]) => (await query<{ n: number }>(text, params))[0]?.n ?? 0;

  const reservations = await query<{ id: string; seat_nos: number[]; live: boolean }>(
    `SELECT id::text AS id, seat_nos, (status = 'active' AND expires_at > $2) AS live
     FROM reservations WHERE event_id = $1`,
    [eventId, now],
  );
  const oversold = await countOversold(query, eventId, now);
  const partial = await countPartialHolds(query, eventId, now);
  const orphans = await countOrphanHeldSeats(query, eventId, now);
  const held = await countHeldSeats(query, eventId, now);
  const booked = await one(`SELECT count(*)::int AS n FROM seats WHERE event_id = $1 AND booking_id IS NOT NULL`, [
    eventId,
  ]);
  const hotHeld =
    expectation.hotSeats === undefined
      ? undefined
      : await one(
          `SELECT count(*)::int AS n FROM seats
           WHERE event_id = $1 AND seat_no < $3 AND booking_id IS NULL AND hold_expires_at > $2`,
          [eventId, now, expectation.hotSeats],
        );

  const live = reservations.filter((row) => row.live);
  const liveById = new Map(live.map((row) => [row.id, row.seat_nos]));
  let notActive = 0;
  let mismatches = 0;
  for (const [id, asked] of expectation.acknowledged) {
    const stored = liveById.get(id);
    if (!stored) notActive += 1;
    else if ([...stored].sort((a, b) => a - b).join() !== [...asked].sort((a, b) => a - b).join()) mismatches += 1;
  }
  const notAcknowledged = live.filter((row) => !expectation.acknowledged.has(row.id)).length;
  const seatsInLive = live.reduce((total, row) => total + row.seat_nos.length, 0);

  const problems: string[] = [];
  if (oversold > 0) problems.push(`${oversold} seats are in more than one live reservation (oversold)`);
  if (partial > 0) problems.push(`${partial} active reservations do not hold all their seats (partial holds)`);
  if (orphans > 0) problems.push(`${orphans} seats are held by no active reservation`);
  if (live.length !== expectation.acknowledged.size) {
    problems.push(
      `${expectation.acknowledged.size} responses were 201 but the database has ${live.length} active reservations`,
    );
  }
  if (notActive > 0) problems.push(`${notActive} reservations answered 201 are not active in the database`);
  if (notAcknowledged > 0) problems.push(`${notAcknowledged} active reservations were never answered 201`);
  if (mismatches > 0) problems.push(`${mismatches} reservations hold other seats than the request asked for`);
  if (reservations.length !== live.length) {
    problems.push(
      `${reservations.length - live.length} reservations of this event are not active (none should have ended)`,
    );
  }
  if (held !== seatsInLive) problems.push(`${held} seats are held but active reservations name ${seatsInLive}`);
  if (booked > 0) problems.push(`${booked} seats are booked, but this scenario never confirms`);

  return {
    ok: problems.length === 0,
    summary: `oversold: ${oversold}, partial holds: ${partial}`,
    responses_201: expectation.acknowledged.size,
    active_reservations: live.length,
    reservations_other_status: reservations.length - live.length,
    oversold_seats: oversold,
    partial_holds: partial,
    orphan_held_seats: orphans,
    held_seats: held,
    seats_in_active_reservations: seatsInLive,
    booked_seats: booked,
    acknowledged_but_not_active: notActive,
    active_but_not_acknowledged: notAcknowledged,
    seat_mismatches: mismatches,
    hot_seats_held: hotHeld,
    problems,
  };
}

export interface PurchaseExpectation {
  eventId: string;
  /** reservation_id of every hold answered 201 → the seat numbers its request asked for. */
  held: Map<string, number[]>;
  /** reservation_id of every confirm answered 201 → the booking_id of that answer. */
  confirmed: Map<string, string>;
  /** Reservations whose confirm was answered, but not 201: they must not have been booked. */
  refused: Set<string>;
  /** Reservations whose confirm got no HTTP answer: booked or not, either is consistent. */
  unanswered: Set<string>;
  /** Confirm 201 answers whose body did not describe that reservation and its seats (checked by the client). */
  answerMismatches: number;
}

export interface PurchaseCheck {
  ok: boolean;
  /** Summary line for the report. */
  summary: string;
  responses_hold_201: number;
  responses_confirm_201: number;
  confirms_refused: number;
  confirms_unanswered: number;
  bookings: number;
  /** Bookings made by a confirm that got no answer (consistent, but not acknowledged). */
  bookings_of_unanswered_confirms: number;
  seats_in_bookings: number;
  booked_seats_rows: number;
  seats_marked_booked: number;
  confirmed_reservations: number;
  active_reservations: number;
  reservations_other_status: number;
  confirm_201_without_one_booking: number;
  booking_mismatches: number;
  seats_in_two_bookings: number;
  booked_seats_mismatches: number;
  confirmed_without_booking: number;
  bookings_without_confirmed_reservation: number;
  oversold_seats: number;
  partial_holds: number;
  orphan_held_seats: number;
  problems: string[];
}

const sameSeats = (a: readonly number[], b: readonly number[]) =>
  [...a].sort((x, y) => x - y).join() === [...b].sort((x, y) => x - y).join();

/**
 * After the confirm scenario: every confirm answered 201 has exactly one booking, with the
 * booking id it answered and the seats its hold asked for; booked_seats rows (and the seats'
 * booking_id) are exactly the seats of the bookings; no seat is in two bookings; every
 * confirmed reservation has a booking and every booking a confirmed reservation; holds that
 * were not confirmed are still whole, live holds (no oversold seat, no partial hold).
 */
export async function verifyPurchases(
  query: Query,
  expectation: PurchaseExpectation,
  nowMs = Date.now(),
): Promise<PurchaseCheck> {
  const now = new Date(nowMs);
  const { eventId } = expectation;
  const problems: string[] = [];
  const note = (count: number, text: string) => {
    if (count > 0) problems.push(`${count} ${text}`);
  };

  const reservations = await query<{
    id: string;
    status: string;
    live: boolean;
    seat_nos: number[];
    total_cents: string;
    user_id: string;
  }>(
    `SELECT id::text AS id, status, (status = 'active' AND expires_at > $2) AS live, seat_nos,
            total_cents::text AS total_cents, user_id
     FROM reservations WHERE event_id = $1`,
    [eventId, now],
  );
  // Every booking of the event, or of one of its reservations (in case event_id were wrong).
  const bookings = await query<{
    id: string;
    reservation_id: string;
    event_id: string;
    seat_nos: number[];
    total_cents: string;
    user_id: string;
  }>(
    `SELECT id::text AS id, reservation_id::text AS reservation_id, event_id::text AS event_id, seat_nos,
            total_cents::text AS total_cents, user_id
     FROM bookings
     WHERE event_id = $1 OR reservation_id IN (SELECT id FROM reservations WHERE event_id = $1)`,
    [eventId],
  );
  const bookedRows = await query<{ event_id: string; seat_no: number; booking_id: string }>(
    `SELECT event_id::text AS event_id, seat_no, booking_id::text AS booking_id FROM booked_seats
     WHERE event_id = $1 OR booking_id IN (SELECT id FROM bookings WHERE event_id = $1)`,
    [eventId],
  );
  const seatsMarked = await query<{ seat_no: number; booking_id: string; still_held: boolean }>(
    `SELECT seat_no, booking_id::text AS booking_id, hold_token IS NOT NULL AS still_held
     FROM seats WHERE event_id = $1 AND booking_id IS NOT NULL`,
    [eventId],
  );
  const oversold = await countOversold(query, eventId, now);
  const partial = await countPartialHolds(query, eventId, now);
  const orphans = await countOrphanHeldSeats(query, eventId, now);
  const held = await countHeldSeats(query, eventId, now);

  const reservationById = new Map(reservations.map((row) => [row.id, row]));
  const bookingsByReservation = new Map<string, typeof bookings>();
  for (const booking of bookings) {
    const list = bookingsByReservation.get(booking.reservation_id) ?? [];
    list.push(booking);
    bookingsByReservation.set(booking.reservation_id, list);
  }
  const bookingIds = new Set(bookings.map((booking) => booking.id));

  // 1. Every confirm answered 201: exactly one booking, the one answered, with the seats asked for.
  let withoutOneBooking = 0;
  let bookingMismatches = 0;
  for (const [reservationId, answeredBookingId] of expectation.confirmed) {
    const found = bookingsByReservation.get(reservationId) ?? [];
    if (found.length !== 1) {
      withoutOneBooking += 1;
      continue;
    }
    const booking = found[0]!;
    const asked = expectation.held.get(reservationId);
    if (booking.id !== answeredBookingId || !asked || !sameSeats(booking.seat_nos, asked)) bookingMismatches += 1;
  }
  note(withoutOneBooking, 'confirms answered 201 do not have exactly one booking');
  note(bookingMismatches, 'bookings differ from their 201 answer (booking id) or from the seats their hold asked for');
  note(expectation.answerMismatches, 'confirm 201 answers do not describe the reservation and seats confirmed');

  // 2. Every booking: a confirmed reservation of this event with the same seats, user and total,
  //    whose confirm was answered 201 (or got no answer at all).
  let withoutConfirmedReservation = 0;
  let unlikeReservation = 0;
  let bookedButRefused = 0;
  let bookedUnasked = 0;
  let bookedUnanswered = 0;
  for (const booking of bookings) {
    const reservation = reservationById.get(booking.reservation_id);
    if (!reservation || reservation.status !== 'confirmed') withoutConfirmedReservation += 1;
    if (
      booking.event_id !== eventId ||
      (reservation &&
        (!sameSeats(booking.seat_nos, reservation.seat_nos) ||
          booking.total_cents !== reservation.total_cents ||
          booking.user_id !== reservation.user_id))
    ) {
      unlikeReservation += 1;
    }
    if (expectation.confirmed.has(booking.reservation_id)) continue;
    if (expectation.unanswered.has(booking.reservation_id)) bookedUnanswered += 1;
    else if (expectation.refused.has(booking.reservation_id)) bookedButRefused += 1;
    else bookedUnasked += 1;
  }
  note(withoutConfirmedReservation, 'bookings have no confirmed reservation');
  note(unlikeReservation, 'bookings differ from their reservation (event, seats, user or total)');
  note(bookedButRefused, 'reservations were booked although their confirm was refused');
  note(bookedUnasked, 'reservations were booked that no confirm was sent for');

  // 3. booked_seats rows are exactly the seats of the bookings; no seat is in two bookings.
  const bookingOfSeat = new Map<number, string[]>();
  for (const booking of bookings) {
    for (const seatNo of booking.seat_nos)
      bookingOfSeat.set(seatNo, [...(bookingOfSeat.get(seatNo) ?? []), booking.id]);
  }
  const inTwoBookings = [...bookingOfSeat.values()].filter((ids) => ids.length > 1).length;
  note(inTwoBookings, 'seats are in more than one booking');
  const seatsInBookings = bookings.reduce((total, booking) => total + booking.seat_nos.length, 0);
  let bookedSeatsMismatches = 0;
  const bookedRowOfSeat = new Map<number, string>();
  for (const row of bookedRows) {
    const owners = bookingOfSeat.get(row.seat_no) ?? [];
    if (row.event_id !== eventId || !bookingIds.has(row.booking_id) || !owners.includes(row.booking_id)) {
      bookedSeatsMismatches += 1;
    }
    if (row.event_id === eventId) bookedRowOfSeat.set(row.seat_no, row.booking_id);
  }
  for (const [seatNo, owners] of bookingOfSeat) {
    if (!owners.includes(bookedRowOfSeat.get(seatNo) ?? '')) bookedSeatsMismatches += 1;
  }
  if (bookedRows.length !== seatsInBookings) {
    problems.push(`${bookedRows.length} booked_seats rows, but the bookings name ${seatsInBookings} seats`);
  }
  note(bookedSeatsMismatches, 'booked_seats rows or booking seats without their counterpart');
  // The seats themselves: booking_id set exactly on the booked seats, and no hold left on them.
  let seatsMarkedWrong = 0;
  for (const seat of seatsMarked) {
    if (bookedRowOfSeat.get(seat.seat_no) !== seat.booking_id || seat.still_held) seatsMarkedWrong += 1;
  }
  if (seatsMarked.length !== bookedRowOfSeat.size) {
    problems.push(`${seatsMarked.length} seats carry a booking_id, but booked_seats has ${bookedRowOfSeat.size}`);
  }
  note(seatsMarkedWrong, 'seats carry another booking_id than booked_seats, or are still held');

  // 4. Reservations: confirmed ones have a booking; the others are the holds no confirm booked,
  //    still active, whole and live; every hold answered 201 is there with its seats, and no other.
  const confirmedReservations = reservations.filter((row) => row.status === 'confirmed');
  const confirmedWithoutBooking = confirmedReservations.filter(
    (row) => (bookingsByReservation.get(row.id) ?? []).length === 0,
  ).length;
  note(confirmedWithoutBooking, 'confirmed reservations have no booking');
  const live = reservations.filter((row) => row.live);
  const otherStatus = reservations.length - confirmedReservations.length - live.length;
  note(otherStatus, 'reservations ended otherwise (cancelled or expired; none should have)');
  note(
    live.filter((row) => expectation.confirmed.has(row.id)).length,
    'reservations whose confirm answered 201 are still active',
  );
  let heldMissing = 0;
  let heldMismatch = 0;
  for (const [reservationId, asked] of expectation.held) {
    const stored = reservationById.get(reservationId);
    if (!stored) heldMissing += 1;
    else if (!sameSeats(stored.seat_nos, asked)) heldMismatch += 1;
  }
  note(heldMissing, 'holds answered 201 have no reservation');
  note(heldMismatch, 'reservations hold other seats than their request asked for');
  note(reservations.filter((row) => !expectation.held.has(row.id)).length, 'reservations were never answered 201');
  note(oversold, 'seats are in more than one live or confirmed reservation (oversold)');
  note(partial, 'active reservations do not hold all their seats (partial holds)');
  note(orphans, 'seats are held by no active reservation');
  const seatsInLive = live.reduce((total, row) => total + row.seat_nos.length, 0);
  if (held !== seatsInLive) problems.push(`${held} seats are held but active reservations name ${seatsInLive}`);

  return {
    ok: problems.length === 0,
    summary:
      `bookings: ${bookings.length.toLocaleString('en-US')} for ` +
      `${expectation.confirmed.size.toLocaleString('en-US')} confirm 201s, ` +
      `seats in two bookings: ${inTwoBookings}, confirmed without booking: ${confirmedWithoutBooking}, ` +
      `bookings without confirmed reservation: ${withoutConfirmedReservation}, oversold: ${oversold}`,
    responses_hold_201: expectation.held.size,
    responses_confirm_201: expectation.confirmed.size,
    confirms_refused: expectation.refused.size,
    confirms_unanswered: expectation.unanswered.size,
    bookings: bookings.length,
    bookings_of_unanswered_confirms: bookedUnanswered,
    seats_in_bookings: seatsInBookings,
    booked_seats_rows: bookedRows.length,
    seats_marked_booked: seatsMarked.length,
    confirmed_reservations: confirmedReservations.length,
    active_reservations: live.length,
    reservations_other_status: otherStatus,
    confirm_201_without_one_booking: withoutOneBooking,
    booking_mismatches: bookingMismatches,
    seats_in_two_bookings: inTwoBookings,
    booked_seats_mismatches: bookedSeatsMismatches,
    confirmed_without_booking: confirmedWithoutBooking,
    bookings_without_confirmed_reservation: withoutConfirmedReservation,
    oversold_seats: oversold,
    partial_holds: partial,
    orphan_held_seats: orphans,
    problems,
  };
}

export interface CeilingExpectation {
  /** The ceiling server's hash of the event: seat id → "<expiry ms>:<reservation id>". */
  key: string;
  /** reservation_id of every 201 the load generator read → the seat numbers it asked for. */
  acknowledged: Map<string, number[]>;
  hotSeats?: number;
}

/**
 * After a ceiling scenario, in its Redis hash: no seat was answered 201 to two requests
 * (a hash field holds one reservation by construction, so this checks the answers), every
 * 201 holds exactly the seats it asked for and nothing else is held (no partial hold, no
 * orphan seat), and none of the holds has expired yet.
 */
export async function verifyCeilingHolds(
  redis: Redis,
  expectation: CeilingExpectation,
  nowMs = Date.now(),
): Promise<HoldCheck> {
  const fields = await redis.hgetall(expectation.key);
  const heldBy = new Map<string, string[]>(); // reservation id → its live seat ids
  let held = 0;
  let expired = 0;
  let hotHeld = 0;
  let malformed = 0;
  for (const [seat, value] of Object.entries(fields)) {
    const match = /^(\d+):(.+)$/.exec(value);
    if (!match) {
      malformed += 1;
      continue;
    }
    if (Number(match[1]) <= nowMs) {
      expired += 1;
      continue;
    }
    held += 1;
    if (expectation.hotSeats !== undefined && Number(seat.slice(1)) < expectation.hotSeats) hotHeld += 1;
    const seats = heldBy.get(match[2]!) ?? [];
    seats.push(seat);
    heldBy.set(match[2]!, seats);
  }
  // Seats the 201 answers gave to more than one request: the oversold count, from the client's side.
  const answeredTo = new Map<number, number>();
  for (const seats of expectation.acknowledged.values())
    for (const seat of seats) answeredTo.set(seat, (answeredTo.get(seat) ?? 0) + 1);
  const oversold = [...answeredTo.values()].filter((times) => times > 1).length;
  let notActive = 0;
  let partial = 0;
  let mismatches = 0;
  let seatsAsked = 0;
  for (const [id, asked] of expectation.acknowledged) {
    seatsAsked += asked.length;
    const stored = heldBy.get(id);
    if (!stored) notActive += 1;
    else if (
      [...stored].sort().join() !==
      asked
        .map((seat) => `s${seat}`)
        .sort()
        .join()
    ) {
      if (stored.length < asked.length) partial += 1;
      else mismatches += 1;
    }
  }
  const notAcknowledged = [...heldBy.keys()].filter((id) => !expectation.acknowledged.has(id)).length;
  const orphans = [...heldBy].filter(([id]) => !expectation.acknowledged.has(id)).reduce((n, [, s]) => n + s.length, 0);

  const problems: string[] = [];
  if (oversold > 0) problems.push(`${oversold} seats were answered 201 to more than one request (oversold)`);
  if (partial > 0) problems.push(`${partial} reservations answered 201 hold only some of their seats (partial holds)`);
  if (notActive > 0) problems.push(`${notActive} reservations answered 201 hold no seat in Redis`);
  if (notAcknowledged > 0) problems.push(`${notAcknowledged} reservations in Redis were never answered 201`);
  if (mismatches > 0) problems.push(`${mismatches} reservations hold other seats than the request asked for`);
  if (held !== seatsAsked) problems.push(`${held} seats are held but the 201 answers name ${seatsAsked}`);
  if (expired > 0) problems.push(`${expired} holds expired already (the TTL is 10 minutes)`);
  if (malformed > 0) problems.push(`${malformed} hash values are not "<expiry ms>:<reservation id>"`);
  return {
    ok: problems.length === 0,
    summary: `oversold: ${oversold}, partial holds: ${partial} (Redis hash)`,
    responses_201: expectation.acknowledged.size,
    active_reservations: heldBy.size,
    reservations_other_status: 0,
    oversold_seats: oversold,
    partial_holds: partial,
    orphan_held_seats: orphans,
    held_seats: held,
    seats_in_active_reservations: seatsAsked,
    booked_seats: 0,
    acknowledged_but_not_active: notActive,
    active_but_not_acknowledged: notAcknowledged,
    seat_mismatches: mismatches,
    hot_seats_held: expectation.hotSeats === undefined ? undefined : hotHeld,
    problems,
  };
}
