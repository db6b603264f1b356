// Test harness: builds the real app on the database this run targets.
//   BOXOFFICE_TEST_DB=pglite   (default) an in-memory PGlite per app
//   BOXOFFICE_TEST_DB=postgres DATABASE_URL must point at a server; each app gets its own schema
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../src/app/ports/clock.ts';
import type { Payments } from '../../src/app/ports/payments.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { createRuntime, liveOptionsFrom, type Runtime } from '../../src/runtime.ts';
import { Redis } from 'ioredis';
import { TestPayments } from '../../src/adapters/payments/test-payments.ts';
import type { Database } from '../../src/adapters/postgres/database.ts';
import { createAuthenticator, type Role } from '../../src/http/plugins/auth.ts';
import { authenticatorFrom, limitsFrom } from '../../src/http/options.ts';

export const testDb = (process.env.BOXOFFICE_TEST_DB ?? 'pglite') as 'pglite' | 'postgres';
export const postgresUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The PostgreSQL pass also runs the Redis hot path; the PGlite pass the in-process one. */
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const testSecret = 'test-secret-for-boxoffice-tests-0123456789';

const testAuthenticator = createAuthenticator({ secret: testSecret });

/** A token any server started with AUTH_SECRET=testSecret accepts. */
export function signToken(userId: string, role: Role = 'customer'): Promise<string> {
  return testAuthenticator.sign!({ id: userId, role }, 3600);
}

/** DATABASE_URL for a server process that should live in this schema. */
export function postgresUrlFor(schema: string): string {
  const separator = postgresUrl.includes('?') ? '&' : '?';
  return `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

export interface TestApp {
  app: FastifyInstance;
  runtime: Runtime;
  config: Config;
  payments: TestPayments;
  /** The schema this app lives in on PostgreSQL (undefined on PGlite). */
  schema?: string;
  token(userId: string, role?: Role, claims?: { email?: string; events?: string[] }): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  clock?: Clock;
  payments?: Payments;
  env?: Record<string, string>;
  /** Reuse an existing schema (several apps on one database). */
  schema?: string;
  /** Serve a built web app from this directory (WEB_APP_DIR). */
  webAppDir?: string;
  /**
   * How long a built availability document is shared; 0 by default, since tests read the
   * map right after a change (the seat list's SEAT_LIST_MAX_AGE_MS is 0 for the same reason).
   */
  availabilityMaxAgeMs?: number;
}

export async function createSchema(): Promise<string> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  return schema;
}

/** Deletes every key under prefix (a test's own keys). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // best effort: a test that killed its Redis has nothing left to clean
  } finally {
    redis.disconnect();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    AUTH_SECRET: testSecret,
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'silent',
    // Every test client comes from 127.0.0.1: the limits are on only in the tests of them.
    RATE_LIMITS: 'off',
    CONNECTIONS_PER_ADDRESS_MAX: '0',
    // Tests read the seat list right after a change: a fresh build for every new version.
    SEAT_LIST_MAX_AGE_MS: '0',
    ...(testDb === 'postgres' ? { DATABASE_URL: postgresUrl, REDIS_URL: redisUrl } : {}),
    ...env,
  });
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownsSchema = testDb === 'postgres' && !options.schema;
  const schema = testDb === 'postgres' ? (options.schema ?? (await createSchema())) : undefined;
  // Each schema keeps its Redis keys apart, and they are deleted with the schema.
  const config = testConfig({ ...(schema ? { REDIS_KEY_PREFIX: `bxt:${schema}:` } : {}), ...options.env });
  const payments = (options.payments ?? new TestPayments()) as TestPayments;
  const runtime = await createRuntime(config, { clock: options.clock, payments, searchPath: schema });
  const authenticator = authenticatorFrom(config);
  // As a deployment waits for readiness before it takes traffic: a test starts once the
  // Redis client is connected (readyz says degraded while it connects). Bounded: a test of
  // an unreachable Redis goes on after the wait.
  if (config.REDIS_URL) {
    const deadline = Date.now() + 10_000;
    while (runtime.deps.board.health() === 'down' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const app = await buildApp({
    deps: runtime.deps,
    gauges: runtime.gauges,
    authenticator,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    eventBodyLimitBytes: config.EVENT_BODY_LIMIT_BYTES,
    logger: false,
    live: liveOptionsFrom(config),
    limits: limitsFrom(config),
    webAppDir: options.webAppDir,
    availabilityMaxAgeMs: options.availabilityMaxAgeMs ?? 0,
  });
  return {
    app,
    runtime,
    config,
    payments,
    schema,
    token: (userId, role = 'customer', claims = {}) => authenticator.sign!({ id: userId, role, ...claims }, 3600),
    async close() {
      await app.close();
      await runtime.close();
      if (ownsSchema && schema) {
        await dropSchema(schema);
        if (config.REDIS_URL && config.REDIS_CLUSTER === 'false')
          await deleteRedisKeys(config.REDIS_URL, `bxt:${schema}:`);
      }
    },
  };
}

export const dayMs = 24 * 3600 * 1000;

/** A valid event body; sections default to `rows` rows of `seatsPerRow` seats. */
export function eventBody(overrides: Record<string, unknown> = {}, nowMs = Date.now()) {
  return {
    name: 'Test Concert',
    category: 'concert',
    starts_at: new Date(nowMs + 30 * dayMs).toISOString(),
    venue: { name: 'Test Hall', city: 'Berlin' },
    sale_opens_at: new Date(nowMs - 60_000).toISOString(),
    max_seats_per_user: 8,
    price_tiers: [
      { id: 'front', name: 'Front', price_cents: 10000, currency: 'USD' },
      { id: 'back', name: 'Back', price_cents: 5000, currency: 'USD' },
    ],
    seat_map: {
      sections: [
        {
          name: 'A',
          price_tier: 'front',
          rows: [
            { label: '1', seats: 10 },
            { label: '2', seats: 10 },
          ],
        },
        { name: 'B', price_tier: 'back', rows: [{ label: '1', seats: 20 }] },
      ],
    },
    ...overrides,
  };
}

export async function createEvent(
  t: TestApp,
  overrides: Record<string, unknown> = {},
  nowMs?: number,
): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { authorization: `Bearer ${await t.token('organizer-1', 'organizer')}` },
    payload: eventBody(overrides, nowMs),
  });
  if (response.statusCode !== 201) throw new Error(`createEvent: ${response.statusCode} ${response.body}`);
  return response.json().event_id;
}

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Holds the seats for the user (201 expected); answers the reservation id. */
export async function holdSeats(t: TestApp, eventId: string, user: string, seatIds: string[]): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: `/v1/events/${eventId}/reservations`,
    headers: auth(await t.token(user)),
    payload: { seat_ids: seatIds },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json().reservation_id as string;
}

/** The user confirms (pays for) the reservation under the Idempotency-Key. */
export async function confirmReservation(
  t: TestApp,
  user: string,
  reservationId: string,
  key: string,
  paymentMethod = 'pm_card_visa',
) {
  return t.app.inject({
    method: 'POST',
    url: `/v1/reservations/${reservationId}/confirm`,
    headers: { ...auth(await t.token(user)), 'idempotency-key': key },
    payload: { payment_method: paymentMethod },
  });
}

/** Row counts of every table: "the database is unchanged" means these are equal. */
export async function tableCounts(t: TestApp): Promise<Record<string, number>> {
  const { rows } = await t.runtime.db.query<{
    events: number;
    seats_held: number;
    reservations: number;
    bookings: number;
    booked_seats: number;
    idempotency_keys: number;
    version: number;
  }>(
    `SELECT (SELECT count(*) FROM events)::int AS events,
            (SELECT count(*) FROM seats WHERE hold_token IS NOT NULL OR booking_id IS NOT NULL)::int AS seats_held,
            (SELECT count(*) FROM seats)::int AS seats,
            (SELECT count(*) FROM reservations)::int AS reservations,
            (SELECT count(*) FROM bookings)::int AS bookings,
            (SELECT count(*) FROM booked_seats)::int AS booked_seats,
            (SELECT count(*) FROM idempotency_keys)::int AS idempotency_keys,
            (SELECT coalesce(max(version), 0) FROM seats)::int AS version`,
  );
  return rows[0]!;
}

/**
 * The invariants, checked in the database: no seat in two live holds or bookings, every
 * booked seat in booked_seats exactly once, every active reservation holding all its
 * seats under its own token (no partial hold).
 */
export async function checkInvariants(target: { runtime: Runtime } | Database, nowMs = Date.now()): Promise<string[]> {
  const db = 'runtime' in target ? target.runtime.db : target;
  const problems: string[] = [];
  const now = new Date(nowMs);
  const doubleBooked = await db.query(
    `SELECT event_id, seat_no FROM (SELECT event_id, unnest(seat_nos) AS seat_no FROM bookings) b
     GROUP BY event_id, seat_no HAVING count(*) > 1`,
  );
  if (doubleBooked.rowCount > 0) problems.push(`${doubleBooked.rowCount} seats in more than one booking`);
  const doubleHeld = await db.query(
    `SELECT event_id, seat_no FROM (
       SELECT event_id, unnest(seat_nos) AS seat_no FROM reservations WHERE status = 'active' AND expires_at > $1
       UNION ALL SELECT event_id, unnest(seat_nos) FROM reservations WHERE status = 'confirmed') x
     GROUP BY event_id, seat_no HAVING count(*) > 1`,
    [now],
  );
  if (doubleHeld.rowCount > 0) problems.push(`${doubleHeld.rowCount} seats in two live holds or bookings`);
  const partial = await db.query(
    `SELECT r.id FROM reservations r
     WHERE r.status = 'active' AND r.expires_at > $1
       AND (SELECT count(*) FROM seats s WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos)
            AND s.hold_token = r.fencing_token AND s.booking_id IS NULL) <> cardinality(r.seat_nos)`,
    [now],
  );
  if (partial.rowCount > 0) problems.push(`${partial.rowCount} live reservations not holding all their seats`);
  const bookedMismatch = await db.query(
    `SELECT b.id FROM bookings b
     WHERE (SELECT count(*) FROM booked_seats bs WHERE bs.booking_id = b.id) <> cardinality(b.seat_nos)
        OR (SELECT count(*) FROM seats s WHERE s.booking_id = b.id) <> cardinality(b.seat_nos)`,
  );
  if (bookedMismatch.rowCount > 0) problems.push(`${bookedMismatch.rowCount} bookings whose seats are not all booked`);
  const confirmedWithoutBooking = await db.query(
    `SELECT r.id FROM reservations r LEFT JOIN bookings b ON b.reservation_id = r.id
     WHERE (r.status = 'confirmed') <> (b.id IS NOT NULL)`,
  );
  if (confirmedWithoutBooking.rowCount > 0)
    problems.push(`${confirmedWithoutBooking.rowCount} reservations whose status disagrees with bookings`);
  const orphanHolds = await db.query(
    `SELECT s.seat_no FROM seats s WHERE s.hold_token IS NOT NULL AND s.hold_expires_at > $1
       AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.fencing_token = s.hold_token AND r.status = 'active')`,
    [now],
  );
  if (orphanHolds.rowCount > 0) problems.push(`${orphanHolds.rowCount} seats held by no active reservation`);
  const blockedTaken = await db.query(
    `SELECT s.seat_no FROM seats s WHERE s.block_id IS NOT NULL AND (s.booking_id IS NOT NULL OR s.hold_expires_at > $1)`,
    [now],
  );
  if (blockedTaken.rowCount > 0) problems.push(`${blockedTaken.rowCount} blocked seats held or booked`);
  return problems;
}
