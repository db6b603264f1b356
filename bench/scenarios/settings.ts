// The fixed settings of the core benchmark (bench/run.ts): where it runs, the size of its
// events and loads, its seeds and the servers' environment. See bench/README.md.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import type { SeatMapShape } from '../fixtures.ts';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const resultsDir = path.join(root, 'bench', 'results');

export const authSecret = 'boxoffice-bench-auth-secret-0123456789abcdef';
export const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// A dedicated database index of the machine's Redis. Every key of a run is under a prefix of
// its own (the service's REDIS_KEY_PREFIX bench-<stamp>-off: / -on:, the ceiling's
// ceil:bench-<stamp>:), deleted at the end; never FLUSHDB.
export const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';
export const connections = 50;
export const bigEvent: SeatMapShape = { sections: 20, rowsPerSection: 50, seatsPerRow: 100 }; // 100,000 seats
export const warmupEvent: SeatMapShape = { sections: 10, rowsPerSection: 50, seatsPerRow: 100 }; // 50,000 seats
export const createTargetS = 5; // the PostgreSQL goal for a 100,000-seat event
export const uncontendedUsers = 2_000;
export const contendedUsers = 10_000;
export const hotSeats = 200;
export const paymentMethod = 'pm_card_visa'; // the test provider's card that always succeeds
export const requestTimeoutMs = 30_000;
/** The open-loop run of hold-contended-redis: this fraction of its closed-loop peak, at most this many in flight. */
export const openLoopFraction = 0.8;
export const openLoopMaxInFlight = 200;
export const createTimeoutMs = 180_000;
/** The search scenarios: the catalog they seed, the seeds of their data and requests, the one-client run. */
export const searchEvents = (quick: boolean) => (quick ? 10_000 : 100_000);
export const searchSeatsPerEvent = 10;
export const searchDataSeed = 20_261_123;
export const searchRequestSeed = 4_242;
export const searchWarmupSeed = 777;
export const searchSingleClientSeconds = (quick: boolean) => (quick ? 1 : 5);
/** The service's own default CATALOG_CACHE_TTL_MS (src/config.ts), for the report. */
export const defaultCatalogCacheTtlMs = (() => {
  try {
    return loadConfig({ DEMO_MODE: 'true' }).CATALOG_CACHE_TTL_MS;
  } catch {
    return NaN; // the report then shows no figure
  }
})();

export const serverEnv = {
  LOG_LEVEL: 'warn',
  AUTH_SECRET: authSecret,
  HOLD_TTL_SECONDS: '600',
  DEMO_EVENT: 'off',
};

/** After a child's timeout and SIGINT, how long it gets to clean up before SIGTERM (exit at once), then SIGKILL. */
export const childGraceMs = 30_000;
