// The composition root: picks the adapters the configuration asks for and wires the
// use cases to them. Used by server.ts, by the tests and by the benchmarks.
import { systemClock } from './adapters/clock/system-clock.ts';
import { TestPayments } from './adapters/payments/test-payments.ts';
import { PostgresBookingStore } from './adapters/postgres/booking-store.ts';
import { connectPostgres, type Database, openPglite } from './adapters/postgres/database.ts';
import { migrate } from './adapters/postgres/migrate.ts';
import type { Deps, Settings } from './app/deps.ts';
import type { Clock, Payments } from './app/ports.ts';
import type { Config } from './config.ts';
import { type Authenticator, createAuthenticator } from './http/plugins/auth.ts';

export interface Runtime {
  db: Database;
  deps: Deps;
  authenticator: Authenticator;
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  clock?: Clock;
  payments?: Payments;
  /** PostgreSQL schema to work in (tests give every run its own). */
  searchPath?: string;
}

export function settingsFrom(config: Config): Settings {
  return {
    holdTtlMs: config.HOLD_TTL_SECONDS * 1000,
    seatsPerHoldMax: config.SEATS_PER_HOLD_MAX,
    seatMapLimits: {
      seatsPerEventMax: config.SEATS_PER_EVENT_MAX,
      sectionsPerEventMax: config.SECTIONS_PER_EVENT_MAX,
      rowsPerSectionMax: config.ROWS_PER_SECTION_MAX,
      seatsPerRowMax: config.SEATS_PER_ROW_MAX,
    },
    idempotencyInFlightStaleMs: config.IDEMPOTENCY_IN_FLIGHT_STALE_MS,
  };
}

export async function openDatabase(config: Config, searchPath?: string): Promise<Database> {
  return config.DATABASE_URL
    ? connectPostgres({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, searchPath })
    : openPglite(config.DATA_DIR);
}

export async function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const db = await openDatabase(config, overrides.searchPath);
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  const deps: Deps = {
    store: new PostgresBookingStore(db),
    payments: overrides.payments ?? new TestPayments(),
    clock: overrides.clock ?? systemClock,
    settings: settingsFrom(config),
  };
  const authenticator = createAuthenticator({
    secret: config.AUTH_SECRET,
    demoSecret: config.DEMO_AUTH_SECRET,
    jwksUrl: config.AUTH_JWKS_URL,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  });
  return { db, deps, authenticator, close: () => db.close() };
}
