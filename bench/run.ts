// The core benchmark scenarios: `npm run bench [-- --quick] [-- --scenario <name>]`.
// See bench/README.md for what each figure means.
//
// The service runs as a child process (node --import tsx src/http/server.ts) on a free port
// of 127.0.0.1, on a fresh PostgreSQL database created for the run (dropped at the end)
// or on PGlite in a temporary directory (removed at the end). The hold gate scenarios run
// it again with REDIS_URL (HOLD_GATE=on, then off) and run bench/ceiling-server.ts, the
// throughput ceiling, on the same workload. Each load loop is bounded in time and in
// request count. After every scenario the database (or the ceiling's Redis hash) is checked.
// The search scenarios seed a catalog of many events straight into a database (or PGlite
// directory) of their own (bench/search.ts) and serve it with servers of their own.
// Last, the sse-fanout scenario runs bench/sse-fanout.ts as a child process (its own server,
// database and Redis index), bounded by a timeout, and the report shows its figures; then the
// waiting-room scenario likewise runs bench/waiting-room.ts.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { connectPostgres, type Database, openPglite } from '../src/adapters/postgres/database.ts';
import { loadConfig } from '../src/config.ts';
import {
  eventBody,
  mintToken,
  mintUserTokens,
  seatCountOf,
  seatId,
  seededRandom,
  type SeatMapShape,
} from './fixtures.ts';
import { runFlow, runLoad, runOpenLoop, round, type FlowOptions, type LoadRequest, type LoadResult } from './load.ts';
import {
  type Backend,
  type CreateEventResult,
  type HoldResult,
  type OpenLoopPhase,
  type PurchaseResult,
  renderMarkdown,
  type SearchKindFigures,
  type SearchPhase,
  type SearchResult,
  type RunReport,
  type ScenarioKind,
  type ScenarioResult,
  type Setup,
  type SseFanoutSection,
  type WaitingRoomSection,
  type ChildScenarioSection,
  type FlashSaleSection,
  stampOf,
  writeReport,
} from './report.ts';
import {
  machineCpuSeconds,
  postgresCpuDelta,
  postgresCpuSnapshot,
  redisCpuSeconds,
  ServerProcess,
  killAllServers,
} from './server.ts';
import {
  resultCount,
  searchKindDescriptions,
  searchMix,
  searchRequests,
  type SearchKind,
  seedCatalog,
} from './search.ts';
import type { SseFanoutRun } from './sse-fanout.ts';
import { median } from './stats.ts';
import type { WaitingRoomRun } from './waiting-room.ts';
import type { FlashSaleRun } from './flash-sale.ts';
import type { WebSeatMapRun } from './web-seat-map.ts';
import {
  createDatabase,
  databaseStats,
  dropDatabase,
  postgresVersion,
  type Query,
  verifyCeilingHolds,
  verifyEventSeats,
  verifyHolds,
  verifyPurchases,
  startWaitSampler,
  type WaitSampler,
  withPglite,
  withPostgres,
} from './verify.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'bench', 'results');

// ---------------------------------------------------------------- settings

const authSecret = 'boxoffice-bench-auth-secret-0123456789abcdef';
const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// A dedicated database index of the machine's Redis. Every key of a run is under a prefix of
// its own (the service's REDIS_KEY_PREFIX bench-<stamp>-off: / -on:, the ceiling's
// ceil:bench-<stamp>:), deleted at the end; never FLUSHDB.
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';
const connections = 50;
const bigEvent: SeatMapShape = { sections: 20, rowsPerSection: 50, seatsPerRow: 100 }; // 100,000 seats
const warmupEvent: SeatMapShape = { sections: 10, rowsPerSection: 50, seatsPerRow: 100 }; // 50,000 seats
const createTargetS = 5; // the PostgreSQL goal for a 100,000-seat event
const uncontendedUsers = 2_000;
const contendedUsers = 10_000;
const hotSeats = 200;
const paymentMethod = 'pm_card_visa'; // the test provider's card that always succeeds
const requestTimeoutMs = 30_000;
/** The open-loop run of hold-contended-redis: this fraction of its closed-loop peak, at most this many in flight. */
const openLoopFraction = 0.8;
const openLoopMaxInFlight = 200;
const createTimeoutMs = 180_000;
/** The search scenarios: the catalog they seed, the seeds of their data and requests, the one-client run. */
const searchEvents = (quick: boolean) => (quick ? 10_000 : 100_000);
const searchSeatsPerEvent = 10;
const searchDataSeed = 20_261_123;
const searchRequestSeed = 4_242;
const searchWarmupSeed = 777;
const searchSingleClientSeconds = (quick: boolean) => (quick ? 1 : 5);
/** The service's own default CATALOG_CACHE_TTL_MS (src/config.ts), for the report. */
const defaultCatalogCacheTtlMs = (() => {
  try {
    return loadConfig({ DEMO_MODE: 'true' }).CATALOG_CACHE_TTL_MS;
  } catch {
    return NaN; // the report then shows no figure
  }
})();

const serverEnv = {
  LOG_LEVEL: 'warn',
  AUTH_SECRET: authSecret,
  HOLD_TTL_SECONDS: '600',
  DEMO_EVENT: 'off',
};

interface ScenarioDef {
  name: string;
  backend: Backend;
  kind: ScenarioKind;
  /** Which server runs it, and how (see Setup in report.ts). */
  setup: Setup;
  /** After the closed loop, an open-loop run at openLoopFraction of its peak. */
  openLoop?: boolean;
}

const scenarioDefs: ScenarioDef[] = [
  { name: 'create-event-postgres', backend: 'postgres', setup: 'plain', kind: 'create-event' },
  { name: 'hold-uncontended-postgres', backend: 'postgres', setup: 'plain', kind: 'hold-uncontended' },
  { name: 'hold-contended-postgres', backend: 'postgres', setup: 'plain', kind: 'hold-contended' },
  { name: 'confirm-postgres', backend: 'postgres', setup: 'plain', kind: 'purchase' },
  // The hold gate comparison: the same two workloads on three more servers, one after another.
  { name: 'hold-uncontended-pg-only', backend: 'postgres', setup: 'pg-only', kind: 'hold-uncontended' },
  { name: 'hold-contended-pg-only', backend: 'postgres', setup: 'pg-only', kind: 'hold-contended' },
  { name: 'hold-uncontended-redis', backend: 'postgres', setup: 'redis-gate', kind: 'hold-uncontended' },
  { name: 'hold-contended-redis', backend: 'postgres', setup: 'redis-gate', kind: 'hold-contended', openLoop: true },
  // What the rate limits cost on the flash-sale path, with their buckets in Redis or per process.
  { name: 'hold-contended-limits-shared', backend: 'postgres', setup: 'limits-shared', kind: 'hold-contended' },
  { name: 'hold-contended-limits-process', backend: 'postgres', setup: 'limits-process', kind: 'hold-contended' },
  { name: 'hold-uncontended-ceiling', backend: 'redis', setup: 'ceiling', kind: 'hold-uncontended' },
  { name: 'hold-contended-ceiling', backend: 'redis', setup: 'ceiling', kind: 'hold-contended' },
  { name: 'create-event-pglite', backend: 'pglite', setup: 'plain', kind: 'create-event' },
  { name: 'hold-uncontended-pglite', backend: 'pglite', setup: 'plain', kind: 'hold-uncontended' },
  // Search on a seeded catalog, each with servers of its own (its own database / data directory).
  { name: 'search-postgres', backend: 'postgres', setup: 'plain', kind: 'search' },
  { name: 'search-pglite', backend: 'pglite', setup: 'plain', kind: 'search' },
];

/**
 * The live seat map's fan-out, run last: bench/sse-fanout.ts in a child process (1,000
 * subscribers and 5 changes with --quick, else 10,000 and 20), killed after this long.
 */
const sseFanoutName = 'sse-fanout';
const sseFanoutTimeoutMs = (quick: boolean) => (quick ? 120_000 : 300_000);
/**
 * The waiting room, after the fan-out: bench/waiting-room.ts in a child process (the Redis
 * queue, joins over HTTP, the admission rate), killed after this long.
 */
const waitingRoomName = 'waiting-room';
const waitingRoomTimeoutMs = (quick: boolean) => (quick ? 120_000 : 600_000);
/**
 * The flash sale, after the waiting room: bench/flash-sale.ts in a child process (the same
 * buyers against the service, PGlite embedded and the classic designs), killed after this long.
 */
const flashSaleName = 'flash-sale';
const flashSaleTimeoutMs = (quick: boolean) => (quick ? 150_000 : 1_800_000);
/**
 * The web app's seat map in Debian's chromium, last: bench/web-seat-map.ts in a child process
 * (first draw of 4K/20K/100K-seat maps, pan and zoom frames, a hold reaching an open page).
 */
const webSeatMapName = 'web-seat-map';
const webSeatMapTimeoutMs = (quick: boolean) => (quick ? 150_000 : 600_000);
/** Options passed on to bench/flash-sale.ts as they are (see its usage). */
const flashSaleFlags = [
  '--seats',
  '--buyers',
  '--sessions',
  '--join-connections',
  '--hold-ttl',
  '--seconds',
  '--generator-seconds',
  '--warmup-seconds',
  '--admit-per-minute',
  '--sse-subscribers',
  '--seed',
  '--targets',
];
/** After a child's timeout and SIGINT, how long it gets to clean up before SIGTERM (exit at once), then SIGKILL. */
const childGraceMs = 30_000;

// ---------------------------------------------------------------- command line

const usage = `usage: npm run bench -- [--quick] [<name>…] [--scenario <name>[,<name>…]] [--duration <seconds>]
                     [flash-sale options: --seats N --buyers N --sessions N --hold-ttl S --seconds S
                      --targets a,b … (see npx tsx bench/flash-sale.ts --help)]

  --quick            about 3 s per load scenario (1 s warm-up), event creation once: a smoke run
  --scenario <name>  run only this scenario (repeatable, or comma-separated); one of:
                       ${[...scenarioDefs.map((def) => def.name), sseFanoutName, waitingRoomName, flashSaleName, webSeatMapName].join('\n                       ')}
                     (${sseFanoutName}: bench/sse-fanout.ts in a child process, last; 1,000
                     subscribers and 5 changes with --quick, else 10,000 and 20;
                     ${waitingRoomName}: bench/waiting-room.ts in a child process, after it;
                     20,000 queue joins with --quick, else 500,000;
                     ${flashSaleName}: bench/flash-sale.ts in a child process, after it: the flash
                     sale against the service and the classic designs;
                     ${webSeatMapName}: bench/web-seat-map.ts in a child process, last: the
                     web app's seat map in chromium (100,000 seats only with --quick);
                     search-*: 10,000 events seeded with --quick, else 100,000)
  --duration <s>     seconds per load scenario (default 10, or 3 with --quick); not ${sseFanoutName}
                     nor ${waitingRoomName}

env: BENCH_POSTGRES_URL  server to create the throwaway bench_<timestamp> database on
                         (default postgres://postgres@127.0.0.1:5432/test)
     BENCH_REDIS_URL     Redis (with its database index) for the hold gate scenarios
                         (default redis://127.0.0.1:6379/14); only this run's keys are touched
     BENCH_SSE_REDIS_URL Redis database index of ${sseFanoutName} (default redis://127.0.0.1:6379/9),
                         FLUSHED at its start and end: not 0, nor one anything else uses`;

function parseArgs(argv: string[]) {
  let quick = false;
  let duration: number | undefined;
  const names: string[] = [];
  const flashArgs: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    const value = () => {
      const next = inline ?? argv[++index];
      if (next === undefined) fail(`${flag} needs a value`);
      return next;
    };
    if (flag === '--quick') quick = true;
    else if (!arg.startsWith('-')) names.push(...arg.split(',').filter(Boolean));
    else if (flashSaleFlags.includes(flag!)) flashArgs.push(flag!, value());
    else if (flag === '--scenario') names.push(...value().split(',').filter(Boolean));
    else if (flag === '--duration') {
      duration = Number(value());
      if (!Number.isFinite(duration) || duration <= 0 || duration > 600) fail('--duration must be 0 < s <= 600');
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    } else fail(`unknown argument ${arg}`);
  }
  for (const name of names) {
    if (
      name !== sseFanoutName &&
      name !== waitingRoomName &&
      name !== flashSaleName &&
      name !== webSeatMapName &&
      !scenarioDefs.some((def) => def.name === name)
    )
      fail(`unknown scenario "${name}"`);
  }
  if (flashArgs.length > 0 && names.length > 0 && !names.includes(flashSaleName))
    fail(`${flashArgs[0]} is an option of ${flashSaleName}, which is not selected`);
  const selected = names.length ? scenarioDefs.filter((def) => names.includes(def.name)) : scenarioDefs;
  return {
    quick,
    selected,
    sseFanout: names.length === 0 || names.includes(sseFanoutName),
    waitingRoom: names.length === 0 || names.includes(waitingRoomName),
    flashSale: names.length === 0 || names.includes(flashSaleName),
    webSeatMap: names.length === 0 || names.includes(webSeatMapName),
    flashArgs,
    loadSeconds: duration ?? (quick ? 3 : 10),
    warmupSeconds: quick ? 1 : 2,
    openLoopSeconds: quick ? 2 : 5,
    createRepetitions: quick ? 1 : 3,
  };
}

/** Every scenario selected, in the order they run. */
const selectedNames = () => [
  ...options.selected.map((def) => def.name),
  ...(options.sseFanout ? [sseFanoutName] : []),
  ...(options.waitingRoom ? [waitingRoomName] : []),
  ...(options.flashSale ? [flashSaleName] : []),
  ...(options.webSeatMap ? [webSeatMapName] : []),
];

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

const options = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- interruption

let interrupted = false;
/** The sse-fanout or waiting-room child while it runs (its own process group: Ctrl-C reaches it through us). */
let scenarioChild: { child: ChildProcess; signals: number } | null = null;
/** The child cleans up on its first SIGINT / SIGTERM and exits at once on the second. */
function signalChild(signal: NodeJS.Signals) {
  if (!scenarioChild || scenarioChild.child.exitCode !== null || scenarioChild.child.signalCode !== null) return;
  scenarioChild.signals += 1;
  scenarioChild.child.kill(signal);
}
process.on('exit', () => {
  // Normally it has exited by now; if the benchmark itself failed, it still cleans up.
  if (scenarioChild && scenarioChild.signals === 0) signalChild('SIGTERM');
});
const onSignal = (signal: string) => {
  if (interrupted) {
    process.stderr.write(`\n${signal} again: killing the server now\n`);
    if (scenarioChild?.signals === 0) signalChild('SIGINT');
    signalChild('SIGTERM'); // the child's second signal: it exits at once, killing its server and clients
    killAllServers();
    process.exit(130);
  }
  interrupted = true;
  process.stderr.write(`\n${signal}: stopping the load and cleaning up (send it again to force)\n`);
  if (scenarioChild && scenarioChild.signals === 0) signalChild('SIGINT');
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// ---------------------------------------------------------------- HTTP helpers

interface Session {
  backend: Backend;
  setup: Setup;
  /** The PostgreSQL database of the run and its URL (postgres backend only). */
  database?: { name: string; url: string };
  /** The benchmark's own Redis connection (setups that use Redis): CPU, checks and clean-up. */
  redis: Redis | null;
  /** The ceiling server's key prefix (ceiling only). */
  ceilingPrefix?: string;
  /** Every event this session created (or, for the ceiling, named). */
  eventIds: string[];
  server: ServerProcess;
  organizerToken: string;
  warmup?: { eventId: string; seats: number; nextRequest: number; tokens: string[] };
}

/** The ceiling server has no events: a hold names any event id, whose seats are any seat ids. */
function ceilingEvent(session: Session) {
  const eventId = randomUUID();
  session.eventIds.push(eventId);
  return { eventId, seconds: 0, bodyBytes: 0 };
}

/** The event of a hold scenario (or warm-up): POST /v1/events on the service, a new id on the ceiling. */
async function holdEvent(session: Session, shape: SeatMapShape, name: string, maxSeatsPerUser: number) {
  return session.setup === 'ceiling' ? ceilingEvent(session) : await createEvent(session, shape, name, maxSeatsPerUser);
}

async function createEvent(session: Session, shape: SeatMapShape, name: string, maxSeatsPerUser: number) {
  const body = JSON.stringify(eventBody(shape, { name, maxSeatsPerUser }));
  const startedAt = performance.now();
  const response = await request(`${session.server.origin}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.organizerToken}`, 'content-type': 'application/json' },
    body,
    headersTimeout: createTimeoutMs,
    bodyTimeout: createTimeoutMs,
  });
  const text = await response.body.text();
  const seconds = (performance.now() - startedAt) / 1000;
  if (response.statusCode !== 201) {
    throw new Error(`POST /v1/events answered ${response.statusCode}: ${text.slice(0, 500)}`);
  }
  const created = JSON.parse(text) as { event_id: string; seat_count: number };
  session.eventIds.push(created.event_id);
  if (created.seat_count !== seatCountOf(shape)) {
    throw new Error(`POST /v1/events made ${created.seat_count} seats, expected ${seatCountOf(shape)}`);
  }
  return { eventId: created.event_id, seconds, bodyBytes: Buffer.byteLength(body) };
}

const holdHeaders = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
const holdRequest = (eventId: string, headers: Record<string, string>, seatNos: number[]): LoadRequest => ({
  method: 'POST',
  path: `/v1/events/${eventId}/reservations`,
  headers,
  body: JSON.stringify({ seat_ids: seatNos.map(seatId) }),
});

/** Uncontended pattern: request i holds 1 seat when i is even, 2 when odd, never a seat used before. */
const uncontendedSeats = (index: number) => {
  const first = index + Math.floor(index / 2);
  return index % 2 === 0 ? [first] : [first, first + 1];
};
/** The most requests the uncontended pattern can send on an event of this many seats. */
const uncontendedBudget = (seats: number) => Math.floor((2 * seats) / 3);

function reservationIdOf(body: string): string {
  return (JSON.parse(body) as { reservation_id: string }).reservation_id;
}

const confirmRequest = (
  reservationId: string,
  headers: Record<string, string>,
  idempotencyKey: string,
): LoadRequest => ({
  method: 'POST',
  path: `/v1/reservations/${encodeURIComponent(reservationId)}/confirm`,
  headers: { ...headers, 'idempotency-key': idempotencyKey },
  body: JSON.stringify({ payment_method: paymentMethod }),
});

const purchaseSteps = ['hold', 'confirm'] as const;

/**
 * Purchase iteration i (counted from `offset`): hold the uncontended pattern's seats of i as
 * user i mod users, then, once that answered 201, confirm the reservation as the same user
 * with the Idempotency-Key `${keyPrefix}-${i}`, used by no other request.
 */
function purchaseRequests(
  eventId: string,
  headers: Record<string, string>[],
  offset: number,
  keyPrefix: string,
  reservationOf: Map<number, string>,
): FlowOptions['makeRequest'] {
  return (index, step, previous) => {
    const n = offset + index;
    const user = headers[n % headers.length]!;
    if (step === 0) return holdRequest(eventId, user, uncontendedSeats(n));
    const reservationId = reservationOf.get(index);
    if (previous?.status !== 201 || reservationId === undefined) return null;
    return confirmRequest(reservationId, user, `${keyPrefix}-${n}`);
  };
}

/**
 * Unmeasured load on a separate event, so JIT, pools and caches are warm before measuring:
 * holds, or (purchase: true) holds each followed by its confirm.
 */
async function warmUp(session: Session, anomalies: string[], purchase = false) {
  // The ceiling has no events to create: a fresh one each time, so the warm-up never runs out of seats.
  if (!session.warmup || session.setup === 'ceiling') {
    const { eventId } = await holdEvent(session, warmupEvent, 'Bench warm-up', 1_000);
    const tokens = await mintUserTokens(authSecret, `warm-${session.backend}-${session.setup}`, 500);
    session.warmup = { eventId, seats: seatCountOf(warmupEvent), nextRequest: 0, tokens };
  }
  const warm = session.warmup;
  const headers = warm.tokens.map(holdHeaders);
  const offset = warm.nextRequest;
  const common = {
    origin: session.server.origin,
    connections,
    durationMs: options.warmupSeconds * 1000,
    shouldAbort: () => interrupted,
    requestTimeoutMs,
  };
  const budget = Math.max(0, uncontendedBudget(warm.seats) - offset);
  const results: LoadResult[] = [];
  if (purchase) {
    const reservationOf = new Map<number, string>();
    const flow = await runFlow({
      ...common,
      maxIterations: budget,
      steps: purchaseSteps,
      makeRequest: purchaseRequests(warm.eventId, headers, offset, `warm-${warm.eventId}`, reservationOf),
      onResponse: (index, step, status, body) => {
        if (step === 0 && status === 201) reservationOf.set(index, reservationIdOf(body));
        else if (step === 1) reservationOf.delete(index);
      },
      onFailure: (index) => reservationOf.delete(index),
    });
    warm.nextRequest += flow.iterations;
    results.push(...Object.values(flow.steps));
  } else {
    const result = await runLoad({
      ...common,
      maxRequests: budget,
      makeRequest: (index) =>
        holdRequest(warm.eventId, headers[(offset + index) % headers.length]!, uncontendedSeats(offset + index)),
    });
    warm.nextRequest += result.requests;
    results.push(result);
  }
  for (const result of results) {
    const fiveXx = Object.entries(result.statuses).filter(([status]) => status.startsWith('5'));
    if (fiveXx.length > 0 || Object.keys(result.errors).length > 0) {
      anomalies.push(
        `warm-up before ${session.server.scenario} (${session.backend}, ${session.setup}): statuses ${JSON.stringify(result.statuses)}, ` +
          `errors ${JSON.stringify(result.errors)}`,
      );
    }
  }
}

function cpuPercent(before: number | null, after: number | null, seconds: number): number | null {
  return before === null || after === null || seconds <= 0 ? null : round(((after - before) / seconds) * 100, 0);
}

/**
 * Brackets a measured load: server, PostgreSQL, benchmark and machine CPU, the server's
 * /metrics (the first scrape also restarts its event loop delay window) and, on
 * PostgreSQL, where the service's connections were. stop() takes the load's elapsed time.
 */
async function startMeasuring(session: Session) {
  const loadAverage = os.loadavg()[0]!;
  const metrics0 = await session.server.metrics(); // also restarts the event loop delay window
  const serverCpu0 = session.server.cpuSeconds();
  const postgresCpu0 = session.database ? postgresCpuSnapshot(session.database.name) : null;
  const redisCpu0 = session.redis ? redisCpuSeconds() : null;
  const sampler: WaitSampler | null = session.database ? await startWaitSampler(session.database.url) : null;
  const machineCpu0 = machineCpuSeconds();
  const clientCpu0 = process.cpuUsage();
  return {
    async stop(elapsedS: number) {
      const clientCpu = process.cpuUsage(clientCpu0);
      const waits = sampler ? await sampler.stop() : null;
      const metrics1 = await session.server.metrics();
      const serverCpu1 = session.server.cpuSeconds();
      const postgresCpu1 = session.database ? postgresCpuSnapshot(session.database.name) : null;
      const redisCpu1 = session.redis ? redisCpuSeconds() : null;
      const machineCpu1 = machineCpuSeconds();
      const measured = {
        server: cpuPercent(serverCpu0, serverCpu1, elapsedS),
        postgres: cpuPercent(0, postgresCpuDelta(postgresCpu0, postgresCpu1), elapsedS),
        redis: cpuPercent(redisCpu0, redisCpu1, elapsedS),
        bench_client: round(((clientCpu.user + clientCpu.system) / 1e6 / elapsedS) * 100, 0),
        machine: cpuPercent(machineCpu0, machineCpu1, elapsedS),
      };
      const cpu = {
        ...measured,
        // Whatever else ran on the machine meanwhile (other jobs skew every figure).
        other:
          measured.machine === null
            ? null
            : Math.max(
                0,
                measured.machine -
                  (measured.server ?? 0) -
                  (measured.postgres ?? 0) -
                  (measured.redis ?? 0) -
                  measured.bench_client,
              ),
      };
      return { cpu, waits, metrics0, metrics1, loadAverage };
    },
  };
}

// ---------------------------------------------------------------- scenarios

type Verify = (query: Query) => Promise<void>;

function emptyLog() {
  return { warnings: 0, errors: 0, samples: [] as string[] };
}

async function createEventScenario(
  def: ScenarioDef,
  session: Session,
): Promise<{ result: CreateEventResult; verify: Verify }> {
  const seatMap = `${bigEvent.sections} sections × ${bigEvent.rowsPerSection} rows × ${bigEvent.seatsPerRow} seats`;
  // An untimed small event first: the route, JSON schema and database pool are warm.
  await createEvent(session, { sections: 2, rowsPerSection: 10, seatsPerRow: 10 }, 'Bench warm-up (small)', 8);
  const samples: number[] = [];
  const eventIds: string[] = [];
  let bodyBytes = 0;
  for (let run = 0; run < options.createRepetitions && !interrupted; run += 1) {
    const created = await createEvent(session, bigEvent, `Bench create ${run + 1}`, 8);
    samples.push(created.seconds);
    eventIds.push(created.eventId);
    bodyBytes = created.bodyBytes;
    log(`  ${def.name} run ${run + 1}/${options.createRepetitions}: ${created.seconds.toFixed(2)} s`);
  }
  const target = def.backend === 'postgres' ? createTargetS : null;
  const med = median(samples);
  const result: CreateEventResult = {
    name: def.name,
    backend: def.backend,
    kind: 'create-event',
    setup: def.setup,
    ok: samples.length > 0,
    server_log: emptyLog(),
    seat_map: seatMap,
    seat_count: seatCountOf(bigEvent),
    body_bytes: bodyBytes,
    repetitions: samples.length,
    samples_s: samples.map((value) => round(value, 3)),
    min_s: round(Math.min(...samples), 3),
    median_s: round(med, 3),
    max_s: round(Math.max(...samples), 3),
    target_s: target,
    meets_target: target === null ? null : med < target,
    verification: null,
  };
  const verify: Verify = async (query) => {
    const events = [];
    for (const eventId of eventIds) events.push(await verifyEventSeats(query, eventId, seatCountOf(bigEvent)));
    result.verification = { ok: events.every((event) => event.ok), events };
    if (!result.verification.ok) result.ok = false;
  };
  return { result, verify };
}

/** The seats request `index` asks for: the uncontended pattern, or (contended) 1 or 2 seeded random hot seats. */
function seatPicker(contended: boolean): (index: number) => number[] {
  const random = seededRandom(20_240_601); // every run, and every server, asks for the same seats
  return (index) => {
    if (!contended) return uncontendedSeats(index);
    const first = Math.floor(random() * hotSeats);
    if (random() < 0.5) return [first];
    let second = Math.floor(random() * (hotSeats - 1));
    if (second >= first) second += 1;
    return [first, second];
  };
}

const perRequest = (pct: number | null, elapsedS: number, requests: number) =>
  pct === null ? null : round((pct * 10 * elapsedS) / Math.max(1, requests), 2);

async function holdScenario(
  def: ScenarioDef,
  session: Session,
  anomalies: string[],
): Promise<{ result: HoldResult; verify?: Verify }> {
  const contended = def.kind === 'hold-contended';
  const maxSeatsPerUser = contended ? 8 : 1_000;
  const users = contended ? contendedUsers : uncontendedUsers;
  const ceiling = session.setup === 'ceiling';

  const created = await holdEvent(session, bigEvent, `Bench ${def.name}`, maxSeatsPerUser);
  const seatCount = seatCountOf(bigEvent);
  const headers = (await mintUserTokens(authSecret, `${def.name}-user`, users)).map(holdHeaders);
  log(
    ceiling
      ? `  ${def.name}: event ${created.eventId} (no seat map on the ceiling server); warming up`
      : `  ${def.name}: event ${created.eventId} created in ${created.seconds.toFixed(2)} s; warming up`,
  );
  await warmUp(session, anomalies);

  const acknowledged = new Map<string, number[]>();
  const inFlight = new Map<number, number[]>();
  const seatsFor = seatPicker(contended);

  log(`  ${def.name}: ${connections} clients for ${options.loadSeconds} s`);
  const measuring = await startMeasuring(session);
  let last201At = 0;
  const loadStartedAt = performance.now();
  const load = await runLoad({
    origin: session.server.origin,
    connections,
    durationMs: options.loadSeconds * 1000,
    // Time is the intended bound; the count caps keep a very fast run inside the event's seats
    // (the ceiling has no seat map: the same seat ids, and more if it is fast enough).
    maxRequests: contended || ceiling ? 2_000_000 : uncontendedBudget(seatCount),
    makeRequest: (index) => {
      const seatNos = seatsFor(index);
      inFlight.set(index, seatNos);
      return holdRequest(created.eventId, headers[index % headers.length]!, seatNos);
    },
    onResponse: (index, status, body) => {
      const seatNos = inFlight.get(index)!;
      inFlight.delete(index);
      if (status === 201) {
        acknowledged.set(reservationIdOf(body), seatNos);
        last201At = performance.now();
      }
    },
    shouldAbort: () => interrupted,
    requestTimeoutMs,
  });
  const { cpu, waits, metrics0, metrics1, loadAverage } = await measuring.stop(load.elapsed_s);

  const count = (status: string) => load.statuses[status] ?? 0;
  const result: HoldResult = {
    name: def.name,
    backend: def.backend,
    kind: def.kind as HoldResult['kind'],
    setup: def.setup,
    ok: true,
    server_log: emptyLog(),
    event: {
      id: created.eventId,
      seat_count: seatCount,
      max_seats_per_user: maxSeatsPerUser,
      setup_create_s: round(created.seconds, 3),
    },
    load: {
      connections,
      duration_target_s: options.loadSeconds,
      warmup_s: options.warmupSeconds,
      seats_per_request: contended ? '1 or 2 (random)' : '1 or 2 (alternating)',
      users,
      hot_seats: contended ? hotSeats : null,
    },
    last_201_after_s: last201At ? round((last201At - loadStartedAt) / 1000, 3) : null,
    result: load,
    throughput_rps: round(load.requests / load.elapsed_s, 1),
    rate_201_per_s: round(count('201') / load.elapsed_s, 1),
    rate_409_per_s: round(count('409') / load.elapsed_s, 1),
    share_201: load.requests ? round(count('201') / load.requests, 4) : 0,
    share_409: load.requests ? round(count('409') / load.requests, 4) : 0,
    cpu_pct_of_one_core: cpu,
    cpu_ms_per_request: {
      server: perRequest(cpu.server, load.elapsed_s, load.requests),
      postgres: perRequest(cpu.postgres, load.elapsed_s, load.requests),
      redis: perRequest(cpu.redis, load.elapsed_s, load.requests),
    },
    load_average_1m_at_start: round(loadAverage, 2),
    postgres_wait_sample: waits,
    server_side:
      metrics0 && metrics1 && metrics1.holdCount > metrics0.holdCount
        ? {
            hold_mean_ms: round(
              ((metrics1.holdSecondsSum - metrics0.holdSecondsSum) / (metrics1.holdCount - metrics0.holdCount)) * 1000,
              2,
            ),
            event_loop_delay_mean_ms: round(metrics1.loopLagMeanS * 1000, 2),
            event_loop_delay_p99_ms: round(metrics1.loopLagP99S * 1000, 2),
            event_loop_delay_max_ms: round(metrics1.loopLagMaxS * 1000, 2),
          }
        : null,
    verification: null,
  };

  if (ceiling) {
    // No database: check the ceiling's Redis hash now, while the server (and its keys) live.
    result.verification = await verifyCeilingHolds(session.redis!, {
      key: `${session.ceilingPrefix}${created.eventId}:holds`,
      acknowledged,
      hotSeats: contended ? hotSeats : undefined,
    });
    if (!result.verification.ok) result.ok = false;
    return { result };
  }

  const open =
    def.openLoop && !interrupted ? await openLoopPhase(def, session, anomalies, result.throughput_rps) : null;
  if (open) result.open_loop = open.phase;
  if (open?.phase.error) result.ok = false;

  const verify: Verify = async (query) => {
    result.verification = await verifyHolds(query, {
      eventId: created.eventId,
      acknowledged,
      hotSeats: contended ? hotSeats : undefined,
    });
    if (!result.verification.ok) result.ok = false;
    if (open) {
      await open.verify(query);
      if (open.phase.verification && !open.phase.verification.ok) result.ok = false;
    }
  };
  return { result, verify };
}

/**
 * The same workload as the closed loop just measured, on a fresh event (created and warmed
 * up the same way), in an open loop: a fixed arrival rate of openLoopFraction × the closed
 * loop's peak for options.openLoopSeconds, latency from each request's scheduled send time.
 */
async function openLoopPhase(
  def: ScenarioDef,
  session: Session,
  anomalies: string[],
  peakRps: number,
): Promise<{ phase: OpenLoopPhase; verify: Verify }> {
  const contended = def.kind === 'hold-contended';
  const rate = Math.max(1, Math.round(peakRps * openLoopFraction));
  const phase: OpenLoopPhase = {
    peak_rps: peakRps,
    fraction: openLoopFraction,
    target_rate_per_s: rate,
    duration_target_s: options.openLoopSeconds,
    max_in_flight_cap: openLoopMaxInFlight,
    event_id: null,
    result: null,
    verification: null,
  };
  const acknowledged = new Map<string, number[]>();
  let eventId: string | null = null;
  try {
    const created = await holdEvent(session, bigEvent, `Bench ${def.name} open loop`, contended ? 8 : 1_000);
    eventId = created.eventId;
    phase.event_id = eventId;
    const users = contended ? contendedUsers : uncontendedUsers;
    const headers = (await mintUserTokens(authSecret, `${def.name}-open-user`, users)).map(holdHeaders);
    await warmUp(session, anomalies);
    const seatsFor = seatPicker(contended);
    const inFlight = new Map<number, number[]>();
    log(
      `  ${def.name}: open loop at ${Math.round(openLoopFraction * 100)}% of ${peakRps} req/s = ${rate} req/s ` +
        `for ${options.openLoopSeconds} s (event ${eventId})`,
    );
    const total = Math.ceil(rate * options.openLoopSeconds);
    const budget = contended ? total : Math.min(total, uncontendedBudget(seatCountOf(bigEvent)));
    phase.result = await runOpenLoop({
      origin: session.server.origin,
      ratePerS: rate,
      durationMs: (budget / rate) * 1000,
      maxInFlight: openLoopMaxInFlight,
      drainMs: 5_000,
      makeRequest: (index) => {
        const seatNos = seatsFor(index);
        inFlight.set(index, seatNos);
        return holdRequest(eventId!, headers[index % headers.length]!, seatNos);
      },
      onResponse: (index, status, body) => {
        const seatNos = inFlight.get(index)!;
        inFlight.delete(index);
        if (status === 201) acknowledged.set(reservationIdOf(body), seatNos);
      },
      onFailure: (index) => inFlight.delete(index),
      shouldAbort: () => interrupted,
      requestTimeoutMs,
    });
    const l = phase.result.latency_ms.all;
    log(
      `  ${def.name}: open loop ${phase.result.requests} requests, ${phase.result.achieved_rate_per_s} req/s, ` +
        `statuses ${JSON.stringify(phase.result.statuses)}, p50 ${l.p50} ms, p99 ${l.p99} ms`,
    );
  } catch (error) {
    phase.error = error instanceof Error ? error.message : String(error);
    log(`  ${def.name}: open loop FAILED: ${phase.error}`);
  }
  const verify: Verify = async (query) => {
    if (eventId === null) return;
    phase.verification = await verifyHolds(query, {
      eventId,
      acknowledged,
      hotSeats: contended ? hotSeats : undefined,
    });
  };
  return { phase, verify };
}

/** The booking_id of a confirm's 201 answer if it names this reservation, event and the seats its hold asked for. */
function answerDescribes(body: string, reservationId: string, eventId: string, seatNos: number[]): string | null {
  try {
    const booking = JSON.parse(body) as {
      booking_id?: unknown;
      reservation_id?: unknown;
      event_id?: unknown;
      status?: unknown;
      seats?: { seat_id?: unknown }[];
    };
    const answered = (booking.seats ?? []).map((seat) => String(seat.seat_id)).sort();
    const asked = seatNos.map(seatId).sort();
    const matches =
      typeof booking.booking_id === 'string' &&
      booking.reservation_id === reservationId &&
      booking.event_id === eventId &&
      booking.status === 'confirmed' &&
      answered.join() === asked.join();
    return matches ? (booking.booking_id as string) : null;
  } catch {
    return null;
  }
}

async function purchaseScenario(
  def: ScenarioDef,
  session: Session,
  anomalies: string[],
): Promise<{ result: PurchaseResult; verify: Verify }> {
  const maxSeatsPerUser = 1_000;
  const users = uncontendedUsers;
  const created = await createEvent(session, bigEvent, `Bench ${def.name}`, maxSeatsPerUser);
  const seatCount = seatCountOf(bigEvent);
  const headers = (await mintUserTokens(authSecret, `${def.name}-user`, users)).map(holdHeaders);
  log(
    `  ${def.name}: event ${created.eventId} created in ${created.seconds.toFixed(2)} s; warming up (hold + confirm)`,
  );
  await warmUp(session, anomalies, true);

  /** Iteration → the reservation its hold made (hold answered 201). */
  const reservationOf = new Map<number, string>();
  const held = new Map<string, number[]>();
  const confirmed = new Map<string, string>();
  const refused = new Set<string>();
  const unanswered = new Set<string>();
  let answerMismatches = 0;

  log(`  ${def.name}: ${connections} clients for ${options.loadSeconds} s, each holding then confirming`);
  const measuring = await startMeasuring(session);
  const flow = await runFlow({
    origin: session.server.origin,
    connections,
    durationMs: options.loadSeconds * 1000,
    // Time is the intended bound; the count cap keeps a very fast run inside the event's seats.
    maxIterations: uncontendedBudget(seatCount),
    steps: purchaseSteps,
    makeRequest: purchaseRequests(created.eventId, headers, 0, `${def.name}-${created.eventId}`, reservationOf),
    onResponse: (index, step, status, body) => {
      if (step === 0) {
        if (status !== 201) return;
        const reservationId = reservationIdOf(body);
        reservationOf.set(index, reservationId);
        held.set(reservationId, uncontendedSeats(index));
        return;
      }
      const reservationId = reservationOf.get(index)!;
      if (status !== 201) {
        refused.add(reservationId);
        return;
      }
      const bookingId = answerDescribes(body, reservationId, created.eventId, uncontendedSeats(index));
      if (bookingId === null) answerMismatches += 1;
      confirmed.set(reservationId, bookingId ?? '(unreadable answer)');
    },
    onFailure: (index, step) => {
      if (step === 1) unanswered.add(reservationOf.get(index)!);
    },
    shouldAbort: () => interrupted,
    requestTimeoutMs,
  });
  const { cpu, waits, metrics0, metrics1, loadAverage } = await measuring.stop(flow.elapsed_s);

  const hold = flow.steps.hold!;
  const confirm = flow.steps.confirm!;
  const perSecond = (value: number) => round(value / flow.elapsed_s, 1);
  const perPurchase = (pct: number | null) =>
    pct === null ? null : round((pct * 10 * flow.elapsed_s) / Math.max(1, flow.completed), 2);
  const meanMs = (sum0: number, count0: number, sum1: number, count1: number) =>
    count1 > count0 ? round(((sum1 - sum0) / (count1 - count0)) * 1000, 2) : null;
  const result: PurchaseResult = {
    name: def.name,
    backend: def.backend,
    kind: 'purchase',
    setup: def.setup,
    ok: true,
    server_log: emptyLog(),
    event: {
      id: created.eventId,
      seat_count: seatCount,
      max_seats_per_user: maxSeatsPerUser,
      setup_create_s: round(created.seconds, 3),
    },
    load: {
      connections,
      duration_target_s: options.loadSeconds,
      warmup_s: options.warmupSeconds,
      seats_per_request: '1 or 2 (alternating)',
      users,
      payment_method: paymentMethod,
    },
    elapsed_s: flow.elapsed_s,
    stopped_by: flow.stopped_by,
    purchases_started: flow.iterations,
    purchases_completed: flow.completed,
    purchase_rate_per_s: perSecond(flow.completed),
    hold,
    confirm,
    hold_rate_per_s: perSecond(hold.requests),
    confirm_rate_per_s: perSecond(confirm.requests),
    confirm_201_per_s: perSecond(confirm.statuses['201'] ?? 0),
    cpu_pct_of_one_core: cpu,
    cpu_ms_per_purchase: {
      server: perPurchase(cpu.server),
      postgres: perPurchase(cpu.postgres),
      redis: perPurchase(cpu.redis),
    },
    load_average_1m_at_start: round(loadAverage, 2),
    postgres_wait_sample: waits,
    server_side:
      metrics0 && metrics1
        ? {
            hold_mean_ms: meanMs(
              metrics0.holdSecondsSum,
              metrics0.holdCount,
              metrics1.holdSecondsSum,
              metrics1.holdCount,
            ),
            confirm_mean_ms: meanMs(
              metrics0.confirmSecondsSum,
              metrics0.confirmCount,
              metrics1.confirmSecondsSum,
              metrics1.confirmCount,
            ),
            event_loop_delay_mean_ms: round(metrics1.loopLagMeanS * 1000, 2),
            event_loop_delay_p99_ms: round(metrics1.loopLagP99S * 1000, 2),
            event_loop_delay_max_ms: round(metrics1.loopLagMaxS * 1000, 2),
          }
        : null,
    verification: null,
  };
  const verify: Verify = async (query) => {
    result.verification = await verifyPurchases(query, {
      eventId: created.eventId,
      held,
      confirmed,
      refused,
      unanswered,
      answerMismatches,
    });
    if (!result.verification.ok) result.ok = false;
  };
  return { result, verify };
}

// ---------------------------------------------------------------- search (a seeded catalog, servers of its own)

/** Midnight UTC of the run's day: the seeded events start around it, the date filters ask around it. */
const searchBaseMs = (() => {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
})();

function emptySearchResult(def: ScenarioDef): SearchResult {
  return {
    name: def.name,
    backend: def.backend,
    kind: 'search',
    setup: def.setup,
    ok: true,
    server_log: emptyLog(),
    seeding: {
      events: searchEvents(options.quick),
      seats_per_event: searchSeatsPerEvent,
      seed: searchDataSeed,
      base_date: new Date(searchBaseMs).toISOString(),
    },
    seed: null,
    load: {
      warmup_s: options.warmupSeconds,
      request_seed: searchRequestSeed,
      mix: searchMix,
      kinds: searchKindDescriptions,
    },
    phases: [],
    verification: null,
  };
}

/**
 * Every search load opens its connections with GET /healthz first (see LoadOptions.preconnect):
 * the search mix saturates the service from its first request, and a saturated Node server
 * accepts new connections late, so without it a few of the 50 clients wait the whole run.
 */
const searchPreconnect: LoadRequest = { method: 'GET', path: '/healthz', headers: {} };

/** Keeps the `keep` slowest of the requests offered, slowest first. */
function slowestKeeper(keep: number) {
  const list: SearchPhase['slowest'] = [];
  return {
    list,
    offer(entry: SearchPhase['slowest'][number]) {
      if (list.length >= keep && entry.ms <= list[list.length - 1]!.ms) return;
      list.push(entry);
      list.sort((a, b) => b.ms - a.ms);
      if (list.length > keep) list.pop();
    },
  };
}

/** The service's mean time per request of one route between two /metrics scrapes, ms. */
function routeMeanMs(
  before: Awaited<ReturnType<ServerProcess['metrics']>>,
  after: Awaited<ReturnType<ServerProcess['metrics']>>,
  route: string,
): number | null {
  const a = before?.routes[route];
  const b = after?.routes[route];
  if (!b) return null;
  const count = b.count - (a?.count ?? 0);
  return count > 0 ? round(((b.sum - (a?.sum ?? 0)) / count) * 1000, 2) : null;
}

/**
 * One measured closed loop of the search mix on a running server: `clients` clients for
 * `seconds`, the requests drawn from the seeded mix (the same sequence every run), every
 * answer read and its results counted.
 */
async function searchPhase(
  session: Session,
  spec: { name: string; cache: 'off' | 'default'; clients: number; seconds: number },
): Promise<SearchPhase> {
  const next = searchRequests(searchRequestSeed, searchBaseMs);
  const kinds: SearchKind[] = [];
  const paths: string[] = [];
  const tallies = new Map<string, { answers: number; withResults: number; results: number }>();
  const slowest = slowestKeeper(10);
  // When each path was last answered 200: a request for it within the cache's TTL could be a cache hit.
  const ttlMs = spec.cache === 'off' ? 0 : defaultCatalogCacheTtlMs;
  const answeredAt = new Map<string, number>();
  let repeats = 0;
  log(`  ${session.server.scenario}: ${spec.name}, ${spec.seconds} s`);
  const measuring = await startMeasuring(session);
  const loadStartedAt = performance.now();
  const load = await runLoad({
    origin: session.server.origin,
    connections: spec.clients,
    durationMs: spec.seconds * 1000,
    maxRequests: 2_000_000,
    preconnect: searchPreconnect,
    makeRequest: (index) => {
      const { kind, ...request } = next(index);
      kinds[index] = kind;
      paths[index] = request.path;
      return request;
    },
    labelOf: (index) => kinds[index]!,
    onResponse: (index, status, body, latencyMs) => {
      const kind = kinds[index]!;
      const results = status === 200 ? resultCount(body) : null;
      if (status === 200) {
        let tally = tallies.get(kind);
        if (!tally) tallies.set(kind, (tally = { answers: 0, withResults: 0, results: 0 }));
        tally.answers += 1;
        if ((results ?? 0) > 0) tally.withResults += 1;
        tally.results += results ?? 0;
      }
      const now = performance.now();
      const sentAt = now - latencyMs;
      const sentAtS = round((sentAt - loadStartedAt) / 1000, 3);
      const path = paths[index]!;
      const previous = answeredAt.get(path);
      if (previous !== undefined && sentAt - previous < ttlMs) repeats += 1;
      if (status === 200) answeredAt.set(path, now);
      slowest.offer({ kind, path, ms: round(latencyMs, 2), sent_at_s: sentAtS, status, results });
    },
    shouldAbort: () => interrupted,
    requestTimeoutMs,
  });
  const { cpu, waits, metrics0, metrics1 } = await measuring.stop(load.elapsed_s);
  const byKind: Record<string, SearchKindFigures> = {};
  let answers = 0;
  let withResults = 0;
  for (const kind of Object.keys(searchMix)) {
    const labelled = load.by_label?.[kind];
    if (!labelled) continue;
    const tally = tallies.get(kind) ?? { answers: 0, withResults: 0, results: 0 };
    answers += tally.answers;
    withResults += tally.withResults;
    byKind[kind] = {
      requests: labelled.requests,
      rps: round(labelled.requests / load.elapsed_s, 1),
      latency_ms: labelled.latency_ms,
      answers_200: tally.answers,
      with_results: tally.withResults,
      with_results_share: tally.answers ? round(tally.withResults / tally.answers, 4) : null,
      mean_results: tally.answers ? round(tally.results / tally.answers, 2) : null,
      non_2xx: labelled.non_2xx,
      errors: labelled.errors,
    };
  }
  return {
    name: spec.name,
    catalog_cache: spec.cache,
    catalog_cache_ttl_ms: spec.cache === 'off' ? 0 : defaultCatalogCacheTtlMs,
    connections: spec.clients,
    duration_target_s: spec.seconds,
    result: load,
    throughput_rps: round(load.requests / load.elapsed_s, 1),
    with_results_share: answers ? round(withResults / answers, 4) : null,
    repeat_share: load.requests ? round(repeats / load.requests, 4) : 0,
    by_kind: byKind,
    slowest: slowest.list,
    server_side:
      metrics0 && metrics1
        ? {
            events_mean_ms: routeMeanMs(metrics0, metrics1, 'GET /v1/events'),
            suggest_mean_ms: routeMeanMs(metrics0, metrics1, 'GET /v1/search/suggest'),
            event_loop_delay_p99_ms: round(metrics1.loopLagP99S * 1000, 2),
            event_loop_delay_max_ms: round(metrics1.loopLagMaxS * 1000, 2),
          }
        : null,
    cpu_pct_of_one_core: cpu,
    cpu_ms_per_request: {
      server: perRequest(cpu.server, load.elapsed_s, load.requests),
      postgres: perRequest(cpu.postgres, load.elapsed_s, load.requests),
      redis: null,
    },
    postgres_wait_sample: waits,
  };
}

/** Unmeasured: the same mix from another seed, so JIT, pools and plans are warm (and the cache holds other queries). */
async function searchWarmUp(session: Session, anomalies: string[]) {
  const next = searchRequests(searchWarmupSeed, searchBaseMs);
  const result = await runLoad({
    origin: session.server.origin,
    connections,
    durationMs: options.warmupSeconds * 1000,
    maxRequests: 2_000_000,
    preconnect: searchPreconnect,
    makeRequest: (index) => {
      const { kind: _kind, ...request } = next(index);
      return request;
    },
    shouldAbort: () => interrupted,
    requestTimeoutMs,
  });
  if (Object.keys(result.non_2xx).length > 0 || Object.keys(result.errors).length > 0) {
    anomalies.push(
      `warm-up before ${session.server.scenario}: non-2xx ${JSON.stringify(result.non_2xx)}, ` +
        `errors ${JSON.stringify(result.errors)}`,
    );
  }
}

/**
 * search-postgres / search-pglite: a catalog seeded straight into a database of its own
 * (PostgreSQL: bench_<stamp>_search; PGlite: a new temporary DATA_DIR) before the service
 * starts on it; then the service with CATALOG_CACHE_TTL_MS=0 (one client, then 50) and,
 * restarted, with the default cache (50 clients). The database / directory goes at the end.
 */
async function searchScenario(def: ScenarioDef, stamp: string, anomalies: string[]): Promise<SearchResult> {
  const result = emptySearchResult(def);
  const events = searchEvents(options.quick);
  let env: Record<string, string> = {};
  let database: Session['database'];
  let cleanup = async () => {};
  let db: Database | null = null;
  const seedOptions = {
    events,
    seatsPerEvent: searchSeatsPerEvent,
    baseMs: searchBaseMs,
    seed: searchDataSeed,
    log,
    shouldAbort: () => interrupted,
  };
  try {
    if (def.backend === 'postgres') {
      const name = `bench_${stamp.toLowerCase()}_search`;
      const url = await createDatabase(adminUrl, name);
      log(`${def.name}: created database ${name}`);
      database = { name, url };
      env = { DATABASE_URL: url };
      cleanup = () =>
        dropDatabase(adminUrl, name).then(
          () => {
            log(`${def.name}: dropped database ${name}`);
          },
          (error: Error) => {
            anomalies.push(`could not drop database ${name}: ${error.message}`);
          },
        );
    } else {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-bench-search-'));
      env = { DATA_DIR: dataDir };
      cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
    }
    log(`${def.name}: seeding ${events.toLocaleString('en-US')} events`);
    try {
      db =
        def.backend === 'postgres'
          ? connectPostgres({ url: database!.url, poolMax: 2 })
          : await openPglite(env.DATA_DIR!);
      result.seed = await seedCatalog(db, seedOptions);
    } finally {
      await db?.close();
    }
    const seed = result.seed;
    log(
      `${def.name}: seeded in ${seed.seconds.total} s (events ${seed.seconds.events} s, seats ${seed.seconds.seats} s, ` +
        `VACUUM ANALYZE ${seed.seconds.vacuum_analyze} s); search columns check: ` +
        `${seed.search_check.mismatched} of ${seed.search_check.sampled} differ`,
    );
    if (seed.search_check.mismatched > 0) result.ok = false;

    const runs: { cache: 'off' | 'default'; phases: { name: string; clients: number; seconds: number }[] }[] = [
      {
        cache: 'off',
        phases: [
          { name: 'cache off, 1 client', clients: 1, seconds: searchSingleClientSeconds(options.quick) },
          { name: `cache off, ${connections} clients`, clients: connections, seconds: options.loadSeconds },
        ],
      },
      {
        cache: 'default',
        phases: [{ name: `default cache, ${connections} clients`, clients: connections, seconds: options.loadSeconds }],
      },
    ];
    for (const run of runs) {
      if (interrupted) break;
      const label = `${def.name}, ${run.cache === 'off' ? 'CATALOG_CACHE_TTL_MS=0' : 'default catalog cache'}`;
      log(`${label}: starting the server`);
      const server = await ServerProcess.start({
        root,
        env: { ...serverEnv, ...env, ...(run.cache === 'off' ? { CATALOG_CACHE_TTL_MS: '0' } : {}) },
      });
      log(`${label}: server pid ${server.pid} ready at ${server.origin}`);
      server.scenario = def.name;
      const session: Session = {
        backend: def.backend,
        setup: def.setup,
        database,
        redis: null,
        eventIds: [],
        server,
        organizerToken: '',
      };
      try {
        await searchWarmUp(session, anomalies);
        for (const spec of run.phases) {
          if (interrupted) break;
          try {
            if (!server.alive)
              throw new Error(`the server is not running (exit ${JSON.stringify(server.exitStatus())})`);
            const phase = await searchPhase(session, { ...spec, cache: run.cache });
            result.phases.push(phase);
            const l = phase.result!.latency_ms.all;
            log(
              `  ${def.name} (${phase.name}): ${phase.result!.requests} requests, ${phase.throughput_rps} req/s, ` +
                `p50 ${l.p50} ms, p99 ${l.p99} ms, ≥1 result ${phase.with_results_share ?? '–'}`,
            );
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            log(`  ${def.name} (${spec.name}): FAILED: ${message}`);
            result.phases.push({
              name: spec.name,
              catalog_cache: run.cache,
              catalog_cache_ttl_ms: run.cache === 'off' ? 0 : defaultCatalogCacheTtlMs,
              connections: spec.clients,
              duration_target_s: spec.seconds,
              result: null,
              throughput_rps: 0,
              with_results_share: null,
              repeat_share: 0,
              by_kind: {},
              slowest: [],
              server_side: null,
              cpu_pct_of_one_core: {
                server: null,
                postgres: null,
                redis: null,
                bench_client: 0,
                machine: null,
                other: null,
              },
              cpu_ms_per_request: { server: null, postgres: null, redis: null },
              postgres_wait_sample: null,
              error: message,
            });
            result.ok = false;
          }
        }
      } finally {
        await new Promise((resolve) => setTimeout(resolve, 200)); // let the server's log lines arrive
        server.scenario = 'idle';
        log(`${label}: stopping the server`);
        await server.stop();
        const exit = server.exitStatus();
        if (exit && exit.code !== 0) anomalies.push(`${label} server exited with ${JSON.stringify(exit)} on SIGTERM`);
        const mine = server.logs.filter((entry) => entry.scenario === def.name);
        result.server_log.warnings += mine.filter((entry) => entry.level === 40).length;
        result.server_log.errors += mine.filter((entry) => entry.level >= 50).length;
        result.server_log.samples = [
          ...new Set([
            ...result.server_log.samples,
            ...mine.map((entry) => `${entry.msg}${entry.err ? `: ${entry.err}` : ''}`),
          ]),
        ].slice(0, 5);
      }
    }
  } catch (error) {
    result.ok = false;
    result.error = error instanceof Error ? error.message : String(error);
    log(`${def.name}: FAILED: ${result.error}`);
  } finally {
    await cleanup();
  }
  return result;
}

function failedResult(def: ScenarioDef, error: unknown): ScenarioResult {
  const message = error instanceof Error ? error.message : String(error);
  const base = {
    name: def.name,
    backend: def.backend,
    setup: def.setup,
    ok: false,
    error: message,
    server_log: emptyLog(),
  };
  if (def.kind === 'create-event') {
    return {
      ...base,
      kind: 'create-event',
      seat_map: '',
      seat_count: seatCountOf(bigEvent),
      body_bytes: 0,
      repetitions: 0,
      samples_s: [],
      min_s: NaN,
      median_s: NaN,
      max_s: NaN,
      target_s: null,
      meets_target: null,
      verification: null,
    };
  }
  if (def.kind === 'search') return { ...emptySearchResult(def), ok: false, error: message };
  if (def.kind === 'purchase') {
    return {
      ...base,
      kind: 'purchase',
      event: null,
      load: {
        connections,
        duration_target_s: options.loadSeconds,
        warmup_s: options.warmupSeconds,
        seats_per_request: '',
        users: 0,
        payment_method: paymentMethod,
      },
      elapsed_s: 0,
      stopped_by: null,
      purchases_started: 0,
      purchases_completed: 0,
      purchase_rate_per_s: 0,
      hold: null,
      confirm: null,
      hold_rate_per_s: 0,
      confirm_rate_per_s: 0,
      confirm_201_per_s: 0,
      cpu_pct_of_one_core: { server: null, postgres: null, redis: null, bench_client: 0, machine: null, other: null },
      cpu_ms_per_purchase: { server: null, postgres: null, redis: null },
      load_average_1m_at_start: null,
      postgres_wait_sample: null,
      server_side: null,
      verification: null,
    };
  }
  return {
    ...base,
    kind: def.kind as HoldResult['kind'],
    event: null,
    load: {
      connections,
      duration_target_s: options.loadSeconds,
      warmup_s: options.warmupSeconds,
      seats_per_request: '',
      users: 0,
      hot_seats: null,
    },
    last_201_after_s: null,
    result: null,
    throughput_rps: 0,
    rate_201_per_s: 0,
    rate_409_per_s: 0,
    share_201: 0,
    share_409: 0,
    cpu_pct_of_one_core: { server: null, postgres: null, redis: null, bench_client: 0, machine: null, other: null },
    cpu_ms_per_request: { server: null, postgres: null, redis: null },
    load_average_1m_at_start: null,
    postgres_wait_sample: null,
    server_side: null,
    verification: null,
  };
}

// ---------------------------------------------------------------- sessions (one server per backend and setup)

interface Pending {
  result: ScenarioResult;
  verify?: Verify;
}

interface SessionSpec {
  /** For the log and the anomalies, e.g. "postgres", "postgres, gate off", "ceiling". */
  label: string;
  backend: Backend;
  setup: Setup;
  defs: ScenarioDef[];
  env: Record<string, string>;
  /** The script the server runs (default the service, src/http/server.ts). */
  entry?: string;
  database?: { name: string; url: string };
  redis?: Redis | null;
  ceilingPrefix?: string;
  /** Called with every event id the session created, once its server has stopped. */
  onEvents?: (eventIds: string[]) => void;
}

/**
 * Starts the server, runs this session's scenarios in order, stops it. PostgreSQL results
 * are verified at once (the bench reads the database beside the live server); PGlite
 * serves one process, so its checks run once the server has stopped and let go of it.
 */
async function runSession(spec: SessionSpec, verifyLive: Query | null, anomalies: string[]): Promise<Pending[]> {
  const { label, defs } = spec;
  log(`${label}: starting the server${spec.entry ? ` (${spec.entry})` : ''}`);
  let server: ServerProcess;
  try {
    server = await ServerProcess.start({ root, env: { ...serverEnv, ...spec.env }, entry: spec.entry });
  } catch (error) {
    // The other sessions still run; these scenarios are reported as failed.
    log(`${label}: the server did not start: ${(error as Error).message}`);
    return defs.map((def) => ({
      result: failedResult(def, new Error(`server did not start: ${(error as Error).message}`)),
    }));
  }
  log(`${label}: server pid ${server.pid} ready at ${server.origin}`);
  const pending: Pending[] = [];
  const session: Session = {
    backend: spec.backend,
    setup: spec.setup,
    database: spec.database,
    redis: spec.redis ?? null,
    ceilingPrefix: spec.ceilingPrefix,
    eventIds: [],
    server,
    organizerToken: await mintToken(authSecret, 'bench-organizer', 'organizer'),
  };
  try {
    for (const def of defs) {
      if (interrupted) break;
      log(`${def.name}: running`);
      server.scenario = def.name;
      let entry: Pending;
      try {
        if (!server.alive) throw new Error(`the server is not running (exit ${JSON.stringify(server.exitStatus())})`);
        entry =
          def.kind === 'create-event'
            ? await createEventScenario(def, session)
            : def.kind === 'purchase'
              ? await purchaseScenario(def, session, anomalies)
              : await holdScenario(def, session, anomalies);
      } catch (error) {
        entry = { result: failedResult(def, error) };
        log(`${def.name}: FAILED: ${(error as Error).message}`);
        if (!server.alive) log(`server output:\n${server.recentOutput()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200)); // let the server's log lines arrive
      server.scenario = 'idle';
      collectLogs(server, entry.result);
      if (verifyLive && entry.verify) {
        await entry.verify(verifyLive);
        entry.verify = undefined;
      }
      pending.push(entry);
      summarizeToLog(entry.result);
    }
  } finally {
    log(`${label}: stopping the server`);
    await server.stop();
    const exit = server.exitStatus();
    if (exit && exit.code !== 0) anomalies.push(`${label} server exited with ${JSON.stringify(exit)} on SIGTERM`);
    const stray = server.logs.filter((entry) => !defs.some((def) => def.name === entry.scenario) && entry.level >= 50);
    for (const entry of stray.slice(0, 5))
      anomalies.push(`${label} server (${entry.scenario}): ${entry.msg} ${entry.err ?? ''}`);
    spec.onEvents?.(session.eventIds);
  }
  return pending;
}

function collectLogs(server: ServerProcess, result: ScenarioResult) {
  const mine = server.logs.filter((entry) => entry.scenario === result.name);
  result.server_log = {
    warnings: mine.filter((entry) => entry.level === 40).length,
    errors: mine.filter((entry) => entry.level >= 50).length,
    samples: [...new Set(mine.map((entry) => `${entry.msg}${entry.err ? `: ${entry.err}` : ''}`))].slice(0, 5),
  };
}

function summarizeToLog(result: ScenarioResult) {
  if (result.kind === 'create-event') {
    if (result.repetitions > 0)
      log(`${result.name}: min ${result.min_s.toFixed(2)} s, median ${result.median_s.toFixed(2)} s`);
  } else if (result.kind === 'purchase') {
    if (!result.confirm) return;
    const l = result.confirm.latency_ms.all;
    log(
      `${result.name}: ${result.purchases_completed} purchases, ${result.purchase_rate_per_s}/s; ` +
        `${result.confirm.requests} confirms, ${result.confirm_rate_per_s}/s, ` +
        `statuses ${JSON.stringify(result.confirm.statuses)}, p50 ${l.p50} ms, p99 ${l.p99} ms` +
        (result.verification ? `, ${result.verification.ok ? 'OK' : 'FAIL'}: ${result.verification.summary}` : ''),
    );
  } else if (result.kind !== 'search' && result.result) {
    const l = result.result.latency_ms.all;
    log(
      `${result.name}: ${result.result.requests} requests, ${result.throughput_rps} req/s, ` +
        `statuses ${JSON.stringify(result.result.statuses)}, p50 ${l.p50} ms, p99 ${l.p99} ms` +
        (result.verification ? `, ${result.verification.summary}` : ''),
    );
  }
}

function anomaliesOf(result: ScenarioResult): string[] {
  const found: string[] = [];
  if (result.error) found.push(`${result.name}: scenario failed: ${result.error}`);
  if (result.server_log.errors > 0) {
    found.push(
      `${result.name}: server logged ${result.server_log.errors} errors: ${result.server_log.samples.join(' | ')}`,
    );
  }
  if (result.kind === 'create-event') {
    if (result.verification && !result.verification.ok) {
      found.push(
        `${result.name}: seat rows wrong: ${result.verification.events.flatMap((e) => e.problems).join('; ')}`,
      );
    }
    if (result.meets_target === false) {
      found.push(`${result.name}: median ${result.median_s.toFixed(2)} s misses the ${result.target_s} s target`);
    }
    return found;
  }
  if (result.kind === 'search') {
    if (result.seed && result.seed.search_check.mismatched > 0) {
      found.push(
        `${result.name}: ${result.seed.search_check.mismatched} of ${result.seed.search_check.sampled} seeded events ` +
          'have search columns other than refresh_event_search() makes',
      );
    }
    for (const phase of result.phases) {
      const label = `${result.name} (${phase.name})`;
      if (phase.error) found.push(`${label}: failed: ${phase.error}`);
      if (!phase.result) continue;
      // Every search should answer 200: any other answer, or none, is an anomaly.
      const bad = Object.entries(phase.result.non_2xx);
      if (bad.length > 0)
        found.push(`${label}: answers other than 200: ${bad.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      const errors = Object.entries(phase.result.errors);
      if (errors.length > 0)
        found.push(`${label}: transport errors: ${errors.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      if (phase.result.stopped_by === 'count')
        found.push(`${label}: stopped at the request cap before the time was up`);
    }
    return found;
  }
  if (result.kind === 'purchase') {
    // Uncontended, with a card that always succeeds: every hold and every confirm should answer 201.
    for (const [step, load] of [
      ['hold', result.hold],
      ['confirm', result.confirm],
    ] as const) {
      if (!load) continue;
      const fiveXx = Object.entries(load.non_2xx).filter(([key]) => key.startsWith('5'));
      if (fiveXx.length > 0)
        found.push(`${result.name}: 5xx answers to ${step}: ${fiveXx.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      // Other 2xx by status; 3xx/4xx by status and problem code (5xx are listed above).
      const unexpected = [
        ...Object.entries(load.statuses).filter(([status]) => status !== '201' && status.startsWith('2')),
        ...Object.entries(load.non_2xx).filter(([key]) => !key.startsWith('5')),
      ];
      if (unexpected.length > 0) {
        found.push(
          `${result.name}: ${step} answers other than 201: ${unexpected.map(([k, v]) => `${k} ×${v}`).join(', ')}`,
        );
      }
      const errors = Object.entries(load.errors);
      if (errors.length > 0)
        found.push(`${result.name}: transport errors on ${step}: ${errors.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    }
    if (result.verification && result.verification.bookings_of_unanswered_confirms > 0) {
      found.push(
        `${result.name}: ${result.verification.bookings_of_unanswered_confirms} confirms got no answer but booked`,
      );
    }
    if (result.stopped_by === 'count') found.push(`${result.name}: stopped at the request cap before the time was up`);
    if (result.verification && !result.verification.ok) {
      found.push(`${result.name}: CORRECTNESS: ${result.verification.problems.join('; ')}`);
    } else if (!result.verification && !result.error) {
      found.push(`${result.name}: not verified`);
    }
    return found;
  }
  if (result.result) {
    const fiveXx = Object.entries(result.result.non_2xx).filter(([key]) => key.startsWith('5'));
    if (fiveXx.length > 0)
      found.push(`${result.name}: 5xx answers: ${fiveXx.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    const unexpected = Object.entries(result.result.non_2xx).filter(
      ([key]) => !key.startsWith('5') && key !== '409 SEAT_UNAVAILABLE',
    );
    if (unexpected.length > 0) {
      found.push(`${result.name}: unexpected non-2xx answers: ${unexpected.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    }
    if (result.kind === 'hold-uncontended' && (result.result.non_2xx['409 SEAT_UNAVAILABLE'] ?? 0) > 0) {
      found.push(
        `${result.name}: ${result.result.non_2xx['409 SEAT_UNAVAILABLE']} 409s on seats nobody else asked for`,
      );
    }
    const errors = Object.entries(result.result.errors);
    if (errors.length > 0)
      found.push(`${result.name}: transport errors: ${errors.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    if (result.result.stopped_by === 'count')
      found.push(`${result.name}: stopped at the request cap before the time was up`);
  }
  if (result.open_loop) {
    const open = result.open_loop;
    const label = `${result.name} open loop at ${Math.round(open.fraction * 100)}%`;
    if (open.error) found.push(`${label}: failed: ${open.error}`);
    if (open.result) {
      const bad = [
        ...Object.entries(open.result.non_2xx).filter(([key]) => key !== '409 SEAT_UNAVAILABLE'),
        ...Object.entries(open.result.errors),
      ];
      if (bad.length > 0) found.push(`${label}: ${bad.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      if (open.result.unsent > 0)
        found.push(`${label}: ${open.result.unsent} requests never sent (the server fell behind the schedule)`);
    }
    if (open.verification && !open.verification.ok)
      found.push(`${label}: CORRECTNESS: ${open.verification.problems.join('; ')}`);
  }
  if (result.verification && !result.verification.ok) {
    found.push(`${result.name}: CORRECTNESS: ${result.verification.problems.join('; ')}`);
  } else if (!result.verification && !result.error) {
    found.push(`${result.name}: not verified`);
  }
  return found;
}

// ---------------------------------------------------------------- sse-fanout (a child process)

const finiteOrNull = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/** The report's figures from the child's JSON (NaN became null on the way). */
function sseFigures(run: SseFanoutRun): NonNullable<SseFanoutSection['figures']> {
  const { fanout, documents } = run;
  const holds = fanout.holds;
  const perConnection = fanout.connect.perConnectionMs;
  const delivery = fanout.delivery.fromAnswer;
  return {
    subscribers_requested: fanout.subscribers.requested,
    subscribers_connected: fanout.subscribers.connected,
    connect_failures: fanout.subscribers.failures,
    client_processes: fanout.clientProcesses,
    connect_wall_ms: finiteOrNull(fanout.connect.wallMs),
    connect_per_second: finiteOrNull(fanout.connect.perSecond),
    connect_per_connection_ms: {
      p50: finiteOrNull(perConnection.p50),
      p99: finiteOrNull(perConnection.p99),
      max: finiteOrNull(perConnection.max),
    },
    snapshot_message_bytes: {
      min: finiteOrNull(fanout.snapshot.messageBytes.min),
      max: finiteOrNull(fanout.snapshot.messageBytes.max),
    },
    event_seats: run.event.seats,
    availability_bytes_all_free: documents.availabilityBytesAllAvailable,
    availability_bytes_scattered_holds: documents.availabilityBytesWithScatteredHolds,
    scattered_holds: documents.scatteredHolds.requested,
    scattered_holds_201: documents.scatteredHolds.statuses['201'] ?? 0,
    seats_list_bytes: documents.seatsListBytes,
    seats_list_status: documents.seatsListStatus,
    seats_list_ms: documents.seatsListMs,
    changes: holds.length,
    hold_gap_ms: holds.length > 1 ? round(holds[holds.length - 1]!.sentAtMs / (holds.length - 1), 0) : null,
    holds_201: holds.filter((hold) => hold.status === 201).length,
    delivery_from_201_ms: {
      count: delivery.count,
      p50: finiteOrNull(delivery.p50),
      p99: finiteOrNull(delivery.p99),
      max: finiteOrNull(delivery.max),
    },
    expected_pairs: fanout.delivery.expectedPairs,
    missed_pairs: fanout.delivery.missedPairs,
    subscribers_missing_a_change: fanout.delivery.subscribersMissingAChange,
    dropped: fanout.delivery.dropped,
    extra_snapshots: fanout.delivery.extraSnapshots,
    server_rss_mb: {
      before_connect: fanout.server.rssMb.beforeConnect,
      after_connect: fanout.server.rssMb.afterConnect,
      after_delivery: fanout.server.rssMb.afterDelivery,
      peak: fanout.server.peakRssMb,
    },
    server_rss_kb_per_subscriber: fanout.server.rssKbPerSubscriber,
    server_cpu_pct: fanout.server.cpuPercent,
    server_loop_delay_p99_ms: {
      connect: fanout.server.loopLagMs.connect.p99,
      delivery: fanout.server.loopLagMs.delivery.p99,
    },
    client_cpu_pct: {
      connect: finiteOrNull(fanout.client.cpuPercent.connect),
      delivery: finiteOrNull(fanout.client.cpuPercent.delivery),
      hold_sender_delivery: finiteOrNull(fanout.client.parentCpuPercentDelivery),
    },
    server_alive_after_run: run.service.aliveAfterRun,
    server_warnings: run.service.warnings.map((entry) => `${entry.msg}${entry.err ? `: ${entry.err}` : ''}`),
  };
}

/** How a scenario's child process ended (see runChildScenario). */
interface ChildRun {
  command: string;
  /** Its JSON, relative to the repository (null when it wrote none). */
  result_file: string | null;
  wall_s: number;
  timeout_s: number;
  exit: { code: number | null; signal: NodeJS.Signals | null; timed_out: boolean };
  /** Why it failed when it did not exit 0: its own `[name] failed:` line, else its last lines. */
  error: string | null;
}

/**
 * Runs `node --import tsx <script> [--quick] --out <out>` (its output goes to our stderr),
 * bounded by a timeout: then SIGINT (it cleans up), SIGTERM after a grace period (it exits
 * at once), SIGKILL of its process group last. Ctrl-C is forwarded (see onSignal).
 */
async function runChildScenario(
  name: string,
  script: string,
  out: string,
  timeoutMs: number,
  extraArgs: string[] = [],
): Promise<ChildRun> {
  const args = ['--import', 'tsx', script, ...(options.quick ? ['--quick'] : []), ...extraArgs, '--out', out];
  const command = `node ${args.join(' ').replace(out, path.relative(root, out))}`;
  mkdirSync(resultsDir, { recursive: true });
  rmSync(out, { force: true });
  log(`${name}: running ${command} (timeout ${timeoutMs / 1000} s)`);
  const startedAt = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, like the servers: Ctrl-C reaches the benchmark only, which passes it on once.
    detached: true,
  });
  scenarioChild = { child, signals: 0 };
  const tail: string[] = [];
  const forward = (chunk: Buffer) => {
    process.stderr.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() && !/^\s+at /.test(line)) tail.push(line);
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  child.stdout!.on('data', forward);
  child.stderr!.on('data', forward);
  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  timers.push(
    setTimeout(() => {
      timedOut = true;
      log(`${name}: no result after ${timeoutMs / 1000} s: stopping it`);
      signalChild('SIGINT');
      timers.push(
        setTimeout(() => {
          signalChild('SIGTERM');
          timers.push(
            setTimeout(() => {
              try {
                process.kill(-child.pid!, 'SIGKILL');
              } catch {
                // already gone
              }
            }, 5_000),
          );
        }, childGraceMs),
      );
    }, timeoutMs),
  );
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  for (const timer of timers) clearTimeout(timer);
  scenarioChild = null;
  // Its own account of the failure if it gave one, else its last lines (stack frames left out).
  const failure = [...tail].reverse().find((line) => line.startsWith(`[${name}] failed:`));
  const lastLines = failure ?? tail.slice(-5).join(' ⏎ ');
  return {
    command,
    result_file: existsSync(out) ? path.relative(root, out) : null,
    wall_s: round((performance.now() - startedAt) / 1000, 1),
    timeout_s: timeoutMs / 1000,
    exit: { code: exit.code, signal: exit.signal, timed_out: timedOut },
    error:
      exit.error || exit.code !== 0 || timedOut
        ? exit.error
          ? `could not start: ${exit.error.message}`
          : timedOut
            ? `timed out after ${timeoutMs / 1000} s, stopped (exit ${exit.code ?? exit.signal})`
            : interrupted
              ? 'interrupted'
              : `exited with ${exit.code ?? exit.signal}: ${lastLines}`
        : null,
  };
}

/**
 * Runs bench/sse-fanout.ts in a child process (runChildScenario), its result in
 * bench/results/<stamp>-sse-fanout.json. Fails on a failed child and on any missed change,
 * never on timings.
 */
async function sseFanoutScenario(stamp: string): Promise<SseFanoutSection> {
  const out = path.join(resultsDir, `${stamp}-sse-fanout.json`);
  const child = await runChildScenario(sseFanoutName, 'bench/sse-fanout.ts', out, sseFanoutTimeoutMs(options.quick));
  const { error, ...outcome } = child;
  const section: SseFanoutSection = { ok: false, ...outcome, figures: null, targets: null };
  if (error) {
    section.error = error;
    log(`${sseFanoutName}: FAILED: ${section.error}`);
    return section;
  }
  let run: SseFanoutRun;
  try {
    run = JSON.parse(readFileSync(out, 'utf8')) as SseFanoutRun;
    section.figures = sseFigures(run);
  } catch (error) {
    section.error = `no readable result in ${path.relative(root, out)}: ${(error as Error).message}`;
    log(`${sseFanoutName}: FAILED: ${section.error}`);
    return section;
  }
  const f = section.figures;
  section.targets = {
    delivery_p99_under_100ms: run.targets.deliveryP99Under100ms,
    snapshot_under_32kb: run.targets.snapshotUnder32KB,
    subscribers_10k_on_one_process: run.targets.subscribers10kOnOneProcess,
    none_missed: run.targets.noneMissed,
  };
  // Correctness, not speed: every subscriber connected, every hold made a change, every change reached every one.
  const problems: string[] = [];
  if (f.subscribers_connected < f.subscribers_requested)
    problems.push(`${f.subscribers_requested - f.subscribers_connected} subscribers never got their snapshot`);
  if (f.holds_201 < f.changes) problems.push(`${f.changes - f.holds_201} of ${f.changes} holds did not answer 201`);
  if (f.missed_pairs > 0)
    problems.push(
      `${f.missed_pairs} (subscriber, change) deliveries missed, by ${f.subscribers_missing_a_change} subscribers`,
    );
  if (!run.targets.noneMissed && problems.length === 0) problems.push('a change was missed');
  if (!f.server_alive_after_run) problems.push('the service was not running at the end');
  section.ok = problems.length === 0;
  if (!section.ok) section.error = problems.join('; ');
  const d = f.delivery_from_201_ms;
  log(
    `${sseFanoutName}: ${f.subscribers_connected} of ${f.subscribers_requested} subscribers, ` +
      `delivery p50 ${d.p50} ms, p99 ${d.p99} ms, max ${d.max} ms, missed ${f.missed_pairs}; snapshot ` +
      `${f.snapshot_message_bytes.max} B; ${section.ok ? 'OK' : `FAIL: ${section.error}`} (${child.wall_s} s)`,
  );
  return section;
}

function sseAnomalies(sse: SseFanoutSection): string[] {
  const found: string[] = [];
  const label = sseFanoutName;
  if (!sse.figures) return [`${label}: failed: ${sse.error ?? 'no result'}`];
  const f = sse.figures;
  if (!sse.ok) found.push(`${label}: FAIL: ${sse.error ?? ''}`);
  if (sse.targets && !sse.targets.delivery_p99_under_100ms)
    found.push(`${label}: delivery p99 ${f.delivery_from_201_ms.p99 ?? '–'} ms misses the 100 ms target`);
  if (sse.targets && !sse.targets.snapshot_under_32kb)
    found.push(
      `${label}: snapshot ${f.snapshot_message_bytes.max ?? '–'} B / availability ` +
        `${f.availability_bytes_scattered_holds} B misses the 32 KB target`,
    );
  if (f.dropped > 0) found.push(`${label}: the server closed ${f.dropped} subscribers after their snapshot`);
  if (f.extra_snapshots > 0) found.push(`${label}: ${f.extra_snapshots} extra snapshots (resets)`);
  if (f.scattered_holds_201 < f.scattered_holds)
    found.push(`${label}: only ${f.scattered_holds_201} of ${f.scattered_holds} scattered holds answered 201`);
  if (f.seats_list_status !== 200) found.push(`${label}: GET /seats answered ${f.seats_list_status}`);
  for (const warning of f.server_warnings.slice(0, 5)) found.push(`${label}: server logged: ${warning}`);
  return found;
}

// ---------------------------------------------------------------- waiting-room (a child process)

/**
 * Runs bench/waiting-room.ts in a child process (runChildScenario), its result in
 * bench/results/<stamp>-waiting-room.json. It exits 1 when one of its checks failed and
 * still writes its figures; any check failed, or no result, fails the scenario.
 */
async function waitingRoomScenario(stamp: string): Promise<WaitingRoomSection> {
  const out = path.join(resultsDir, `${stamp}-waiting-room.json`);
  return checkedChildScenario<WaitingRoomRun>(
    waitingRoomName,
    'bench/waiting-room.ts',
    out,
    waitingRoomTimeoutMs(options.quick),
  );
}

/**
 * Runs a child scenario whose result carries its own checks ({checks: {ok, problems}}): it
 * exits 1 when a check failed and still writes its figures; a failed check, a failed child or
 * no result fails the scenario.
 */
async function checkedChildScenario<Run extends { checks: { ok: boolean; problems: string[] } }>(
  name: string,
  script: string,
  out: string,
  timeoutMs: number,
  extraArgs: string[] = [],
): Promise<ChildScenarioSection & { run: Run | null }> {
  const child = await runChildScenario(name, script, out, timeoutMs, extraArgs);
  const { error, ...outcome } = child;
  const section: ChildScenarioSection & { run: Run | null } = { ok: false, ...outcome, run: null };
  const checksFailed = child.exit.code === 1 && !child.exit.timed_out && child.result_file !== null;
  if (error && !checksFailed) {
    section.error = error;
    log(`${name}: FAILED: ${section.error}`);
    return section;
  }
  try {
    section.run = JSON.parse(readFileSync(out, 'utf8')) as Run;
  } catch (parseError) {
    section.error = `no readable result in ${path.relative(root, out)}: ${(parseError as Error).message}`;
    log(`${name}: FAILED: ${section.error}`);
    return section;
  }
  const { checks } = section.run;
  section.ok = checks.ok && !error;
  if (!section.ok) section.error = checks.problems.join('; ') || error || 'failed';
  log(`${name}: ${section.ok ? 'OK' : `FAIL: ${section.error}`} (${child.wall_s} s)`);
  return section;
}

function waitingRoomAnomalies(section: WaitingRoomSection): string[] {
  const label = waitingRoomName;
  if (!section.run) return [`${label}: failed: ${section.error ?? 'no result'}`];
  const run = section.run;
  const found = run.checks.problems.map((problem) => `${label}: FAIL: ${problem}`);
  for (const q of run.queue) {
    const failed = Object.values(q.errors).reduce((sum, count) => sum + count, 0);
    if (failed > 0) found.push(`${label}: ${q.name}: ${failed} joins failed: ${JSON.stringify(q.errors)}`);
  }
  if (run.targets.joins_per_s_met === false) {
    const main = run.queue.find((q) => q.mode === 'arrival' && q.in_flight > 1);
    found.push(
      `${label}: ${main?.joins_per_s ?? '–'} queue joins/s misses the ${run.targets.join_target_per_s} joins/s target`,
    );
  }
  // The steady rate off by more than a few percent (judged on windows of 5 s or more: shorter ones are too coarse).
  for (const a of run.admission) {
    if (a.steady_per_s === null || a.window_s < 5) continue;
    if (Math.abs(a.steady_per_s - a.configured_per_s) > 0.03 * a.configured_per_s)
      found.push(`${label}: ${a.name} admits ${a.steady_per_s}/s, configured ${a.configured_per_s}/s`);
  }
  if (run.machine.busy_before_start_pct !== null && run.machine.busy_before_start_pct > 25)
    found.push(`${label}: the machine was ${run.machine.busy_before_start_pct}% busy before it started`);
  for (const warning of run.service_warnings.slice(0, 5)) found.push(`${label}: server logged: ${warning}`);
  if (run.cleanup.redis_keys_deleted === null || !run.cleanup.database_dropped)
    found.push(`${label}: could not clean up (${JSON.stringify(run.cleanup)})`);
  return found;
}

// ---------------------------------------------------------------- flash-sale (a child process)

/**
 * Runs bench/flash-sale.ts in a child process (runChildScenario), its result in
 * bench/results/<stamp>-flash-sale.json (.md and .svg beside it). It exits 1 when a check of
 * the service or of an atomic design failed and still writes its figures; that, or no
 * result, fails the scenario. Timings never do.
 */
async function flashSaleScenario(stamp: string): Promise<FlashSaleSection> {
  const out = path.join(resultsDir, `${stamp}-flash-sale.json`);
  return checkedChildScenario<FlashSaleRun>(
    flashSaleName,
    'bench/flash-sale.ts',
    out,
    flashSaleTimeoutMs(options.quick),
    options.flashArgs,
  );
}

function flashSaleAnomalies(section: FlashSaleSection): string[] {
  if (!section.run) return [`${flashSaleName}: failed: ${section.error ?? 'no result'}`];
  const found = section.run.checks.problems.map((problem) => `${flashSaleName}: FAIL: ${problem}`);
  for (const target of section.run.targets) {
    if (target.check && !target.check.ok && !target.check.judged)
      found.push(`${flashSaleName}: ${target.name} (not judged): ${target.check.problems.join('; ')}`);
  }
  for (const warning of section.run.server_warnings.slice(0, 5))
    found.push(`${flashSaleName}: server logged: ${warning}`);
  const cleanup = section.run.cleanup;
  if (cleanup.redis_keys_deleted === null && section.run.targets.some((t) => t.name !== 'embedded'))
    found.push(`${flashSaleName}: could not delete its Redis keys`);
  return found;
}

// ---------------------------------------------------------------- main

/** The URL without a password, for logs and the report. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function connectRedis(url: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null, // no reconnecting: a Redis that goes away fails the checks that need it
  });
  let lastError: Error | null = null;
  client.on('error', (error: Error) => (lastError = error)); // reported by the command that fails
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch (error) {
    client.disconnect();
    throw lastError ?? error;
  }
}

/** SCAN + UNLINK of the keys matching the pattern (and `keep`): never FLUSHDB. Returns how many. */
async function deleteKeys(redis: Redis, match: string, keep: (key: string) => boolean = () => true): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    const mine = keys.filter(keep);
    if (mine.length > 0) deleted += await redis.unlink(...mine);
  } while (cursor !== '0');
  return deleted;
}

function gitInfo(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations', 'package.json'], {
      cwd: root,
      encoding: 'utf8',
    });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

function packageVersion(file: string): string | null {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const stamp = stampOf(startedAt);
  const anomalies: string[] = [];
  const pending: Pending[] = [];
  let stats: RunReport['postgres_database_stats'] = null;
  let pgVersion: string | null = null;
  const git = gitInfo();
  const loadAverageAtStart = os.loadavg()[0]!;
  log(
    `${options.quick ? 'quick' : 'full'} run of ` +
      `${selectedNames().join(', ')}; ` +
      `${options.loadSeconds} s per load scenario`,
  );

  // How busy the machine is before we add anything: other jobs skew every figure.
  const busy0 = machineCpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const busy1 = machineCpuSeconds();
  const busyBefore = cpuPercent(busy0, busy1, 2);
  if (busyBefore !== null && busyBefore > 25) {
    const warning = `the machine was already ${busyBefore}% busy (of one core) before the run: figures are depressed`;
    log(`WARNING: ${warning}`);
    anomalies.push(warning);
  }

  const postgresDefs = options.selected.filter((def) => def.backend === 'postgres' && def.kind !== 'search');
  const ceilingDefs = options.selected.filter((def) => def.setup === 'ceiling');
  const pgliteDefs = options.selected.filter((def) => def.backend === 'pglite' && def.kind !== 'search');
  const searchDefs = options.selected.filter((def) => def.kind === 'search');

  // The hold gate scenarios need the machine's Redis; without it they fail (the others still run).
  let redis: Redis | null = null;
  let redisVersion: string | null = null;
  let redisError: string | null = null;
  const ceilingPrefix = `ceil:bench-${stamp.toLowerCase()}:`;
  const servicePrefix = `bench-${stamp.toLowerCase()}-`; // + 'off:' / 'on:', the service's REDIS_KEY_PREFIX
  /** Events of the sessions whose service had REDIS_URL: any key naming one is deleted at the end too. */
  const gateEventIds: string[] = [];
  if (options.selected.some((def) => def.setup !== 'plain') && !interrupted) {
    try {
      redis = await connectRedis(redisUrl);
      redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? null;
      log(`redis: ${redisVersion ?? '?'} at ${redactUrl(redisUrl)}`);
    } catch (error) {
      redisError = `Redis not reachable at ${redactUrl(redisUrl)}: ${(error as Error).message}`;
      log(redisError);
    }
  }
  const redisSpec = (setup: Setup, defs: ScenarioDef[]) => (redisError ? null : { setup, defs });
  const unreachable = (defs: ScenarioDef[]) => {
    for (const def of defs) pending.push({ result: failedResult(def, new Error(redisError!)) });
  };

  try {
    if (postgresDefs.length > 0 && !interrupted) {
      const database = `bench_${stamp.toLowerCase()}`;
      pgVersion = await postgresVersion(adminUrl);
      const url = await createDatabase(adminUrl, database);
      log(`postgres: created database ${database}`);
      try {
        await withPostgres(url, async (query) => {
          // One server per setup, in this order, on the same database (each scenario on its own event).
          const sessions: { setup: Setup; label: string; env: Record<string, string> }[] = [
            { setup: 'plain', label: 'postgres', env: {} },
            {
              setup: 'pg-only',
              label: 'postgres, REDIS_URL, HOLD_GATE=off',
              env: { HOLD_GATE: 'off', REDIS_KEY_PREFIX: `${servicePrefix}off:` },
            },
            {
              setup: 'redis-gate',
              label: 'postgres, REDIS_URL, HOLD_GATE=on',
              env: { HOLD_GATE: 'on', REDIS_KEY_PREFIX: `${servicePrefix}on:` },
            },
            ...(['shared', 'process'] as const).map((scope) => ({
              setup: `limits-${scope}` as const,
              label: `postgres, REDIS_URL, HOLD_GATE=on, RATE_LIMITS=on, RATE_LIMIT_SCOPE=${scope}`,
              env: {
                HOLD_GATE: 'on',
                REDIS_KEY_PREFIX: `${servicePrefix}limits-${scope}:`,
                RATE_LIMITS: 'on',
                RATE_LIMIT_SCOPE: scope,
                // All load comes from 127.0.0.1: the per-address bucket would measure itself.
                RATE_LIMIT_IP_PER_SECOND: '1000000',
                RATE_LIMIT_IP_BURST: '1000000',
              },
            })),
          ];
          for (const { setup, label, env } of sessions) {
            const defs = postgresDefs.filter((def) => def.setup === setup);
            if (defs.length === 0 || interrupted) continue;
            if (setup !== 'plain' && !redisSpec(setup, defs)) {
              unreachable(defs);
              continue;
            }
            pending.push(
              ...(await runSession(
                {
                  label,
                  backend: 'postgres',
                  setup,
                  defs,
                  env: { DATABASE_URL: url, ...(setup === 'plain' ? {} : { REDIS_URL: redisUrl }), ...env },
                  database: { name: database, url },
                  redis: setup === 'plain' ? null : redis,
                  onEvents: setup === 'plain' ? undefined : (ids) => gateEventIds.push(...ids),
                },
                query,
                anomalies,
              )),
            );
          }
        });
        // Backends flush their statistics when they exit, i.e. now that the server is gone.
        await new Promise((resolve) => setTimeout(resolve, 500));
        stats = await withPostgres(url, databaseStats);
        if (stats && stats.deadlocks > 0) anomalies.push(`PostgreSQL reported ${stats.deadlocks} deadlocks`);
      } finally {
        await dropDatabase(adminUrl, database).then(
          () => log(`postgres: dropped database ${database}`),
          (error: Error) => anomalies.push(`could not drop database ${database}: ${error.message}`),
        );
      }
    }

    if (ceilingDefs.length > 0 && !interrupted) {
      if (!redisSpec('ceiling', ceilingDefs)) unreachable(ceilingDefs);
      else {
        pending.push(
          ...(await runSession(
            {
              label: 'ceiling',
              backend: 'redis',
              setup: 'ceiling',
              defs: ceilingDefs,
              env: { REDIS_URL: redisUrl, CEILING_KEY_PREFIX: ceilingPrefix },
              entry: 'bench/ceiling-server.ts',
              redis,
              ceilingPrefix,
            },
            null,
            anomalies,
          )),
        );
      }
    }
  } finally {
    if (redis) {
      // The ceiling deletes its own keys when it stops; this also covers a ceiling that was killed.
      // The service's: its prefix for this run, and (in case it did not use the prefix) any key
      // naming one of this run's events (their database is gone).
      const ceilingKeys = await deleteKeys(redis, `${ceilingPrefix}*`).catch(() => -1);
      const serviceKeys = await deleteKeys(redis, `${servicePrefix}*`).catch(() => -1);
      const eventKeys =
        gateEventIds.length === 0
          ? 0
          : await deleteKeys(redis, '*', (key) => gateEventIds.some((id) => key.includes(id))).catch(() => -1);
      log(
        `redis: deleted ${ceilingKeys} ceiling keys left over, ${serviceKeys} keys under ${servicePrefix}*, ` +
          `${eventKeys} other keys naming this run's events`,
      );
      if (ceilingKeys < 0 || serviceKeys < 0 || eventKeys < 0)
        anomalies.push(`could not delete this run's keys in ${redactUrl(redisUrl)}`);
      redis.disconnect();
    }
  }

  if (pgliteDefs.length > 0 && !interrupted) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-bench-'));
    try {
      const entries = await runSession(
        { label: 'pglite', backend: 'pglite', setup: 'plain', defs: pgliteDefs, env: { DATA_DIR: dataDir } },
        null,
        anomalies,
      );
      pending.push(...entries);
      const toVerify = entries.filter((entry) => entry.verify);
      if (toVerify.length > 0) {
        log('pglite: verifying in the stopped server’s data directory');
        await withPglite(dataDir, async (query) => {
          for (const entry of toVerify) {
            await entry.verify!(query);
            summarizeToLog(entry.result);
          }
        });
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  // Search, each on a catalog of its own (seeded, then served by its own servers).
  for (const def of searchDefs) {
    if (interrupted) break;
    if (def.backend === 'postgres') pgVersion ??= await postgresVersion(adminUrl).catch(() => null);
    log(`${def.name}: running`);
    pending.push({ result: await searchScenario(def, stamp, anomalies) });
  }

  // Last, on a machine the other scenarios have left: the fan-out, in a child process of its own.
  const sseFanout = options.sseFanout && !interrupted ? await sseFanoutScenario(stamp) : null;
  const waitingRoom = options.waitingRoom && !interrupted ? await waitingRoomScenario(stamp) : null;
  const flashSale = options.flashSale && !interrupted ? await flashSaleScenario(stamp) : null;
  const webSeatMap =
    options.webSeatMap && !interrupted
      ? await checkedChildScenario<WebSeatMapRun>(
          webSeatMapName,
          'bench/web-seat-map.ts',
          path.join(resultsDir, `${stamp}-web-seat-map.json`),
          webSeatMapTimeoutMs(options.quick),
        )
      : null;

  const scenarios = pending.map((entry) => entry.result);
  for (const result of scenarios) anomalies.push(...anomaliesOf(result));
  if (sseFanout) anomalies.push(...sseAnomalies(sseFanout));
  if (waitingRoom) anomalies.push(...waitingRoomAnomalies(waitingRoom));
  if (flashSale) anomalies.push(...flashSaleAnomalies(flashSale));
  if (webSeatMap && !webSeatMap.ok) anomalies.push(`${webSeatMapName}: failed: ${webSeatMap.error ?? 'no result'}`);
  if (interrupted) anomalies.push('interrupted: some scenarios did not run');
  const cpus = os.cpus();
  const report: RunReport = {
    format: 'boxoffice-bench-core/2',
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    interrupted,
    selected_scenarios: selectedNames(),
    environment: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpu_count: cpus.length,
      cpu_model: cpus[0]?.model.trim() ?? 'unknown',
      memory_gb: round(os.totalmem() / 1024 ** 3, 1),
      postgres_version: pgVersion,
      redis_version: redisVersion,
      pglite_version: packageVersion(path.join(root, 'node_modules/@electric-sql/pglite/package.json')),
      boxoffice_version: packageVersion(path.join(root, 'package.json')) ?? 'unknown',
      git_commit: git.commit,
      git_dirty: git.dirty,
      machine_busy_before_start_pct: busyBefore,
      load_average_1m_at_start: round(loadAverageAtStart, 2),
    },
    server_env: {
      ...serverEnv,
      AUTH_SECRET: '(fixed, 44 chars)',
      WORKERS: '1',
      DATABASE_POOL_MAX: '20 (default)',
      ...(options.selected.some((def) => def.setup !== 'plain')
        ? {
            REDIS_URL: `${redactUrl(redisUrl)} (*-redis: HOLD_GATE=on, *-pg-only: HOLD_GATE=off, *-ceiling: the ceiling server)`,
            REDIS_KEY_PREFIX: 'bench-<stamp>-on: / bench-<stamp>-off: (deleted at the end)',
          }
        : {}),
    },
    scenarios,
    sse_fanout: sseFanout,
    waiting_room: waitingRoom,
    flash_sale: flashSale,
    web_seat_map: webSeatMap,
    postgres_database_stats: stats,
    anomalies,
    ok:
      scenarios.every((result) => result.ok) &&
      (sseFanout?.ok ?? true) &&
      (waitingRoom?.ok ?? true) &&
      (flashSale?.ok ?? true) &&
      (webSeatMap?.ok ?? true) &&
      !interrupted,
  };
  const markdown =
    renderMarkdown(report) +
    (webSeatMap?.run ? `\n## Web app seat map (${webSeatMapName}, chromium)\n\n${webSeatMap.run.table}\n` : '');
  const files = writeReport(resultsDir, stamp, report, markdown);
  process.stdout.write(`\n${markdown}\n`);
  log(`wrote ${path.relative(root, files.json)} and ${path.relative(root, files.md)}`);
  const correctnessFailed =
    scenarios.some(
      (result) => result.verification !== null && result.verification !== undefined && !result.verification.ok,
    ) ||
    waitingRoom?.run?.checks.ok === false ||
    flashSale?.run?.checks.ok === false ||
    webSeatMap?.run?.checks.ok === false;
  if (correctnessFailed) log('CORRECTNESS FAILURE: see the table above');
  return interrupted ? 130 : report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    killAllServers();
    process.exit(1);
  },
);
