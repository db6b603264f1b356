// The benchmark's own database access: the throwaway PostgreSQL database of a run, and the
// correctness checks run after each scenario, straight against the tables of
// migrations/001_core.sql (never through the service under test).
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
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
  const oversold = await one(
    `SELECT count(*)::int AS n FROM (
       SELECT seat_no FROM (
         SELECT unnest(seat_nos) AS seat_no FROM reservations
         WHERE event_id = $1 AND ((status = 'active' AND expires_at > $2) OR status = 'confirmed')) x
       GROUP BY seat_no HAVING count(*) > 1) d`,
    [eventId, now],
  );
  const partial = await one(
    `SELECT count(*)::int AS n FROM reservations r
     WHERE r.event_id = $1 AND r.status = 'active' AND r.expires_at > $2
       AND (SELECT count(*) FROM seats s
            WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
              AND s.hold_expires_at > $2 AND s.booking_id IS NULL) <> cardinality(r.seat_nos)`,
    [eventId, now],
  );
  const orphans = await one(
    `SELECT count(*)::int AS n FROM seats s
     WHERE s.event_id = $1 AND s.booking_id IS NULL AND s.hold_expires_at > $2
       AND NOT EXISTS (SELECT 1 FROM reservations r
                       WHERE r.fencing_token = s.hold_token AND r.event_id = s.event_id AND r.status = 'active'
                         AND s.seat_no = ANY(r.seat_nos))`,
    [eventId, now],
  );
  const held = await one(
    `SELECT count(*)::int AS n FROM seats WHERE event_id = $1 AND booking_id IS NULL AND hold_expires_at > $2`,
    [eventId, now],
  );
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
