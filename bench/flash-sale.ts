// The flash-sale scenario: `npm run bench -- flash-sale [--seats N] [--buyers N] …` (bench/run.ts
// runs this as a child process), or `npx tsx bench/flash-sale.ts [--quick] [options] [--out file.json]`.
//
// The same buyers (bench/flash-buyers.ts) against, one after another in one run:
//   generator       the load generator alone against a trivial endpoint (its own ceiling)
//   pessimistic, optimistic, setnx, lua   the classic designs (bench/baseline-server.ts)
//   service         the service on PostgreSQL + Redis, the event behind its waiting room
//                   (every buyer joins it; admitted at --admit-per-minute)
//   service-best    the same, its buyers asking for the best available (issue 19) instead
//                   of picking seats from the map (bench/flash-best.ts)
//   service-direct  the same service process, an event without a waiting room: the like-for-like
//                   row for the baselines, which have none
//   service-direct-workers  the same event on the service started with WORKERS=2 (two
//                   processes, as one would deploy it on this 2-core machine)
//   embedded        the service on PGlite with its Redis roles in-process, waiting room on
// (bench/flash-designs.ts: the table of these designs and their traits), and writes <out>.json, <out>.md (the tables) and <out>.svg (throughput, sell-out and latency).
// After each target it checks the end state (bench/flash-checks.ts: PostgreSQL for the service,
// PGlite for embedded, the baseline server's own store): no seat oversold, no partial hold, no
// best-available hold other than asked. Any failed check of the service or of an atomic design
// exits 1; the setnx design's partial holds are its known flaw and are counted, not judged.
// Timings never fail the run. For the service designs every hold request is also judged
// against the reservations' history (bench/flash-scope.ts): was it refused while its scope
// still had seats?
// For the service on PostgreSQL it also reads the event's facts in the transactional outbox
// once the backlog has drained (bench/outbox-figures.ts): the relay's throughput and lag, and
// the notifications consumer's; a booking without its fact fails the run, a fact left
// unpublished or unapplied 10 s after the load is an anomaly.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { request } from 'undici';
import type { BaselineMode } from './baseline-server.ts';
import {
  type ChildOptions,
  cleanUpOnStop,
  parseChildArgs,
  releaseStores,
  runAsScript,
  stopRequested,
  writeResult,
} from './child-scenario.ts';
import { eventBody, mintTokenSync } from './fixtures.ts';
import { checkBaseline, checkService, type StoreCheck } from './flash-checks.ts';
import { type BuyerRunResult, runBuyers, type VenueLayout } from './flash-buyers.ts';
import { type Design, type DesignServer, designs, type TargetName, targetNames } from './flash-designs.ts';
import { renderFlashMarkdown, renderFlashSvg } from './flash-report.ts';
import { round, runLoad, type LoadResult } from './load.ts';
import { type OutboxFigures, outboxFigures } from './outbox-figures.ts';
import { type CpuFigures, machineBusyBefore, ServerProcess, startCpuMeter } from './server.ts';
import { createDatabase, type Query, withPglite, withPostgres } from './verify.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const authSecret = 'flash-sale-bench-secret-0123456789abcdef';
const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';
const log = (message: string) =>
  process.stderr.write(`[flash-sale ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

export type { StoreCheck } from './flash-checks.ts';
export type { TargetName } from './flash-designs.ts';

interface Options extends ChildOptions {
  seats: number;
  buyers: number;
  sessions: number;
  joinConnections: number;
  holdTtlSeconds: number;
  seconds: number;
  generatorSeconds: number;
  warmupSeconds: number;
  admitPerMinute: number;
  sseSubscribers: number;
  seed: number;
  targets: TargetName[];
}

const usage =
  'npx tsx bench/flash-sale.ts [--quick] [--seats N] [--buyers N] [--sessions N] [--join-connections N] ' +
  '[--hold-ttl S] [--seconds S] [--generator-seconds S] [--warmup-seconds S] [--admit-per-minute N] ' +
  '[--sse-subscribers N] [--seed N] ' +
  `[--targets ${targetNames.join(',')}] [--out file.json]`;

function parseArgs(argv: string[]): Options {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `usage: ${usage}\n\ndefaults: --seats 20000 --buyers 100000 --sessions 200 --join-connections 50 --hold-ttl 5 ` +
        `--seconds 60 --generator-seconds 5 --warmup-seconds 3 --admit-per-minute 120000 --sse-subscribers 2; ` +
        `with --quick: 1000 seats, 3000 buyers, 50 sessions, 20 join connections, hold TTL 2, 3 s a design, ` +
        `2 s generator, 1 s warm-up, no embedded\n`,
    );
    process.exit(0);
  }
  const quick = argv.includes('--quick');
  let targets: TargetName[] = [...targetNames];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] !== '--targets') {
      rest.push(argv[i]!);
      continue;
    }
    const names = (argv[i + 1] ?? '').split(',').filter(Boolean);
    const unknown = names.filter((name) => !targetNames.includes(name as TargetName));
    if (names.length === 0 || unknown.length > 0) throw new Error(`usage: ${usage}  (bad --targets ${argv[i + 1]})`);
    targets = targetNames.filter((name) => names.includes(name));
    i += 1;
  }
  return parseChildArgs<Options>(
    rest,
    {
      quick,
      out: null,
      seats: quick ? 1_000 : 20_000,
      buyers: quick ? 3_000 : 100_000,
      sessions: quick ? 50 : 200,
      joinConnections: quick ? 20 : 50,
      holdTtlSeconds: quick ? 2 : 5,
      seconds: quick ? 3 : 60,
      generatorSeconds: quick ? 2 : 5,
      warmupSeconds: quick ? 1 : 3,
      admitPerMinute: 120_000,
      sseSubscribers: 2,
      seed: 20_261_204,
      // Quick (CI) leaves out embedded: starting, stopping and checking PGlite alone takes ~40 s on 2 cores.
      targets: quick ? targets.filter((name) => name !== 'embedded' || argv.includes('--targets')) : targets,
    },
    {
      '--seats': ['seats', 1_000, 200_000],
      '--buyers': ['buyers', 1, 1_000_000],
      '--sessions': ['sessions', 1, 2_000],
      '--join-connections': ['joinConnections', 1, 500],
      '--hold-ttl': ['holdTtlSeconds', 1, 600],
      '--seconds': ['seconds', 1, 900],
      '--generator-seconds': ['generatorSeconds', 1, 60],
      '--warmup-seconds': ['warmupSeconds', 0, 60],
      '--admit-per-minute': ['admitPerMinute', 1, 1_000_000],
      '--sse-subscribers': ['sseSubscribers', 0, 100],
      '--seed': ['seed', 0, 2 ** 31 - 1],
    },
    usage,
  );
}

/** 20 rows of 50 seats a section: the seat count is rounded up to a whole number of sections. */
const layoutFor = (seats: number): VenueLayout => ({ sections: Math.ceil(seats / 1_000), rows: 20, seatsPerRow: 50 });
const seatCountOf = (layout: VenueLayout) => layout.sections * layout.rows * layout.seatsPerRow;

export interface TargetRun {
  name: TargetName;
  label: string;
  waiting_room: boolean;
  ok: boolean;
  error: string | null;
  event_id: string | null;
  seats: number;
  figures: Omit<BuyerRunResult, Ledger> | null;
  /** generator only: the trivial endpoint's closed loop. */
  generator: { load: LoadResult; requests_per_s: number } | null;
  check: StoreCheck | null;
  cpu: CpuFigures | null;
  /** PostgreSQL during the measured run (PostgreSQL designs and the service). */
  postgres?: PostgresWork;
  /**
   * The service on PostgreSQL: its event's facts in the outbox after the run (drained for up
   * to 10 s): written, published by the relay, applied by the notifications consumer, lags.
   */
  outbox?: OutboxFigures | null;
  /** Why the outbox figures could not be read. */
  outbox_error?: string;
}

/**
 * What PostgreSQL did during a measured run, from its statistics (deltas). `commits` counts
 * every committed transaction of the run's database, read-only ones included; `wal_syncs`
 * (pg_stat_wal.wal_sync, PostgreSQL 14 and later, else null) counts the WAL fsyncs, which one
 * commit may share with others (group commit), but it is the whole server's: the
 * `other_databases_commits` tell whether anything else wrote meanwhile.
 */
export interface PostgresWork {
  commits: number;
  rollbacks: number;
  wal_syncs: number | null;
  other_databases_commits: number;
}

interface PostgresCounters {
  commits: number;
  rollbacks: number;
  otherCommits: number;
  walSyncs: number | null;
}

async function postgresCounters(query: Query): Promise<PostgresCounters> {
  const [row] = await query<{ commits: number; rollbacks: number; other_commits: number }>(
    `SELECT coalesce(sum(xact_commit) FILTER (WHERE datname = current_database()), 0)::float8 AS commits,
            coalesce(sum(xact_rollback) FILTER (WHERE datname = current_database()), 0)::float8 AS rollbacks,
            coalesce(sum(xact_commit) FILTER (WHERE datname IS DISTINCT FROM current_database()), 0)::float8
              AS other_commits
     FROM pg_stat_database`,
  );
  let walSyncs: number | null = null;
  try {
    walSyncs = (await query<{ wal_sync: number }>(`SELECT wal_sync::float8 AS wal_sync FROM pg_stat_wal`))[0]!.wal_sync;
  } catch {
    // PostgreSQL before 14 has no pg_stat_wal
  }
  return {
    commits: row?.commits ?? 0,
    rollbacks: row?.rollbacks ?? 0,
    otherCommits: row?.other_commits ?? 0,
    walSyncs,
  };
}

export interface FlashSaleRun {
  command: string;
  started_at: string;
  mode: 'quick' | 'full';
  settings: Omit<Options, 'out' | 'quick'> & { seat_count: number; layout: VenueLayout; confirm_share: number };
  machine: { cpus: number; node: string; busy_before_start_pct: number | null; load_average_1m_at_start: number };
  targets: TargetRun[];
  checks: { ok: boolean; problems: string[] };
  /** Warnings and errors the servers logged (at most 20 a server), by server and target. */
  server_warnings: string[];
  cleanup: { redis_keys_deleted: number | null; database_dropped: boolean; data_dir_removed: boolean };
}

// ---------------------------------------------------------------- runs

/** A kind of server the designs run on (see DesignServer): how it starts, a design's event on it, its check. */
interface ServerKind {
  /** For the log. */
  name: string;
  /** Starts it with this many processes (WORKERS; 1 but for the service). */
  start: (workers: number) => Promise<ServerProcess>;
  /** The body of POST /v1/events for a design's event of this many seats. */
  eventBody: (name: TargetName, seats: number) => unknown;
  /** The end state, checked right after the design's run, beside the live server. */
  check?: (server: ServerProcess, name: TargetName, eventId: string, result: BuyerRunResult) => Promise<StoreCheck>;
  /** The end state, checked once the server has stopped (PGlite serves one process at a time). */
  checkAfterStop?: (eventId: string, result: BuyerRunResult) => Promise<StoreCheck>;
  /** The event's facts in the outbox once drained (the service on PostgreSQL), read after the check. */
  outbox?: (eventId: string, loadEndedAtMs: number) => Promise<OutboxFigures>;
}

type Ledger = 'confirmed' | 'hold_attempts' | 'best_holds';
const withoutLedger = (result: BuyerRunResult): Omit<BuyerRunResult, Ledger> => {
  const { confirmed: _confirmed, hold_attempts: _attempts, best_holds: _best, ...figures } = result;
  return figures;
};

async function postJson(origin: string, path: string, token: string, body: unknown) {
  const response = await request(`${origin}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: 180_000,
    bodyTimeout: 180_000,
  });
  const text = await response.body.text();
  if (response.statusCode !== 201)
    throw new Error(`POST ${path} answered ${response.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as { event_id: string };
}

function emptyTarget(name: TargetName, seats: number, waitingRoom: boolean): TargetRun {
  return {
    name,
    label: designs[name].label,
    waiting_room: waitingRoom,
    ok: false,
    error: null,
    event_id: null,
    seats,
    figures: null,
    generator: null,
    check: null,
    cpu: null,
  };
}

function summaryLine(run: TargetRun): string {
  const f = run.figures;
  if (!f) return `${run.name}: ${run.error ?? 'no figures'}`;
  return (
    `${run.name}: ${f.seats_booked}/${run.seats} seats booked, ${f.sold_out ? `sold out in ${f.sell_out_s} s` : 'not sold out'}; ` +
    `${f.hold_requests_per_s} hold req/s, reserve p99 ${f.requests.hold.latency_ms.all.p99} ms, ` +
    `409 rate ${round(f.hold_409_rate * 100, 1)}%` +
    (run.check?.holds
      ? ` (with a free seat in the scope ${run.check.holds.refused_with_seats_free}, ` +
        `${round((run.check.holds.rate_with_seats_free ?? 0) * 100, 2)}%; every seat taken at ` +
        `${run.check.holds.all_taken_s ?? '–'} s)`
      : '') +
    `; oversold ${run.check?.oversold_seats ?? '?'}, ` +
    `partial ${run.check?.partial_holds ?? '?'}${run.check && !run.check.ok ? ` (${run.check.problems.join('; ')})` : ''}`
  );
}

function outboxLine(name: string, outbox: OutboxFigures): string {
  return (
    `${name}: outbox: ${outbox.facts_written} facts written, ${outbox.facts_published} published ` +
    `(${outbox.published_per_s ?? '–'}/s), ${outbox.facts_consumed} applied by ${outbox.consumer}; relay lag p50 ` +
    `${outbox.relay_lag_ms.p50} / p99 ${outbox.relay_lag_ms.p99} / max ${outbox.relay_lag_ms.max} ms, commit to ` +
    `consumer p50 ${outbox.consumer_lag_ms.p50} / p99 ${outbox.consumer_lag_ms.p99} / max ${outbox.consumer_lag_ms.max} ms; ` +
    `${outbox.drained_s_after_load === null ? `NOT drained: ${outbox.anomalies.join('; ')}` : `drained ${outbox.drained_s_after_load} s after the load`}` +
    `${outbox.problems.length > 0 ? `; FAIL: ${outbox.problems.join('; ')}` : ''}`
  );
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '').toLowerCase();
  const layout = layoutFor(options.seats);
  const seatCount = seatCountOf(layout);
  const prefix = `bench-fs-${stamp}-`;
  const database = `bench_fs_${stamp}`;
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${database}`;
  const needsPostgres = options.targets.some((name) => designs[name].postgres);
  const needsRedis = options.targets.some((name) => designs[name].redis);
  const admin = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const servers: ServerProcess[] = [];
  let dataDir: string | null = null;
  /** The service on PostgreSQL's DATA_DIR: only mail (.eml files, without SMTP_URL) goes there. */
  let serviceDataDir: string | null = null;
  let databaseCreated = false;
  const cleanupResult: FlashSaleRun['cleanup'] = {
    redis_keys_deleted: null,
    database_dropped: false,
    data_dir_removed: false,
  };
  let cleaning: Promise<void> | null = null;
  const cleanup = () => (cleaning ??= cleanUp());
  const cleanUp = async () => {
    for (const server of servers) await server.stop().catch(() => {});
    Object.assign(
      cleanupResult,
      await releaseStores(adminUrl, databaseCreated ? database : null, needsRedis ? admin : null, prefix, log),
    );
    admin.disconnect();
    if (dataDir) {
      rmSync(dataDir, { recursive: true, force: true });
      cleanupResult.data_dir_removed = true;
    }
    if (serviceDataDir) rmSync(serviceDataDir, { recursive: true, force: true });
  };
  cleanUpOnStop(cleanup, log);

  const targets: TargetRun[] = [];
  const buyerOptions = (origin: string, eventId: string, name: TargetName, waitingRoom: boolean, sse: boolean) => ({
    origin,
    eventId,
    layout,
    seatCount,
    buyers: options.buyers,
    sessions: options.sessions,
    waitingRoom: waitingRoom ? { joinConnections: options.joinConnections, pollMs: 100 } : null,
    sseSubscribers: sse ? options.sseSubscribers : 0,
    durationMs: options.seconds * 1000,
    authSecret,
    userPrefix: `fs-${name}`,
    seed: options.seed,
    mode: designs[name].buyers,
    confirmShare: 0.8,
    holdTriesMax: 5,
    patienceMs: Math.max(2_000, options.holdTtlSeconds * 2_000),
    shouldAbort: stopRequested,
  });

  const serverWarnings: string[] = [];
  const stopServer = async (server: ServerProcess, name: string) => {
    const stoppingAt = Date.now();
    server.scenario = 'stopping';
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
    const exit = server.exitStatus();
    log(`${name} stopped in ${((Date.now() - stoppingAt) / 1000).toFixed(1)} s (exit ${exit?.code ?? exit?.signal})`);
    for (const entry of server.logs.slice(0, 20))
      serverWarnings.push(`${name}, ${entry.scenario}: ${entry.msg}${entry.err ? `: ${entry.err}` : ''}`);
  };

  /**
   * An unmeasured warm-up before a design's run (JIT, connection pools, caches): the same
   * buyers for warmupSeconds on an event of its own of 1,000 seats, no SSE.
   */
  async function warmUp(
    name: TargetName,
    origin: string,
    createEvent: (seats: number) => Promise<string>,
    waitingRoom: boolean,
  ) {
    if (options.warmupSeconds === 0 || stopRequested()) return;
    const warmLayout = layoutFor(1_000);
    const eventId = await createEvent(seatCountOf(warmLayout));
    await runBuyers({
      ...buyerOptions(origin, eventId, name, waitingRoom, false),
      layout: warmLayout,
      seatCount: seatCountOf(warmLayout),
      buyers: 1_000_000,
      durationMs: options.warmupSeconds * 1000,
      userPrefix: `fs-warm-${name}`,
    });
  }

  /** Runs the buyers against one target and checks its end state; never throws (the failure is the row's). */
  async function measure(
    run: TargetRun,
    server: ServerProcess,
    database: string | null,
    usesRedis: boolean,
    /** The warm-up and the event (not measured). */
    prepare: () => Promise<void>,
    go: () => Promise<BuyerRunResult>,
    /** Null: checked later (embedded: once its server has stopped). */
    check: ((result: BuyerRunResult) => Promise<StoreCheck>) | null,
  ) {
    targets.push(run);
    server.scenario = run.name;
    try {
      log(`${run.name}: ${options.buyers.toLocaleString('en-US')} buyers, ${seatCount.toLocaleString('en-US')} seats`);
      await prepare();
      const meter = startCpuMeter(server, database, usesRedis);
      const counters0 = database ? await withPostgres(databaseUrl.toString(), postgresCounters) : null;
      const result = await go();
      run.cpu = meter(result.elapsed_s);
      if (counters0) {
        await new Promise((resolve) => setTimeout(resolve, 1_100)); // backends report their counts at most every second
        const counters1 = await withPostgres(databaseUrl.toString(), postgresCounters);
        run.postgres = {
          commits: counters1.commits - counters0.commits,
          rollbacks: counters1.rollbacks - counters0.rollbacks,
          wal_syncs:
            counters1.walSyncs === null || counters0.walSyncs === null ? null : counters1.walSyncs - counters0.walSyncs,
          other_databases_commits: counters1.otherCommits - counters0.otherCommits,
        };
      }
      run.figures = withoutLedger(result);
      if (check) {
        run.check = await check(result);
        run.ok = run.check.ok || !run.check.judged;
      }
    } catch (error) {
      run.error = (error as Error).message;
    }
    log(summaryLine(run));
  }

  /** The load generator alone against the baseline server's trivial endpoint: its own ceiling. */
  async function measureGenerator(run: TargetRun, server: ServerProcess) {
    targets.push(run);
    const meter = startCpuMeter(server, null, false);
    const load = await runLoad({
      origin: server.origin,
      connections: options.sessions,
      durationMs: options.generatorSeconds * 1000,
      maxRequests: 10_000_000,
      makeRequest: () => ({ method: 'GET', path: '/v1/ping', headers: {} }),
      shouldAbort: stopRequested,
    });
    run.cpu = meter(load.elapsed_s);
    run.generator = { load, requests_per_s: round(load.requests / load.elapsed_s, 0) };
    run.ok = load.requests > 0 && Object.keys(load.errors).length === 0;
    log(
      `generator: ${run.generator.requests_per_s} req/s, p99 ${load.latency_ms.all.p99} ms, ` +
        `bench CPU ${run.cpu.bench_client}%, server CPU ${run.cpu.server}%`,
    );
  }

  try {
    const { busyPct: busyBefore, loadAverage } = await machineBusyBefore();
    log(`machine ${busyBefore ?? '?'}% busy (of one core) before the start, load average ${loadAverage}`);
    if (needsRedis) await admin.connect();
    if (needsPostgres) {
      await createDatabase(adminUrl, database);
      databaseCreated = true;
      log(`created database ${database}`);
    }
    const organizer = mintTokenSync(authSecret, 'fs-organizer', 'organizer');

    const serviceEnv = {
      LOG_LEVEL: 'warn',
      AUTH_SECRET: authSecret,
      DEMO_EVENT: 'off',
      HOLD_TTL_SECONDS: String(options.holdTtlSeconds),
      ADMIT_TICK_MS: '100',
    };
    const eventFor = (name: TargetName, waitingRoom: boolean, seats = seatCount) => ({
      ...eventBody(
        { sections: layoutFor(seats).sections, rowsPerSection: layout.rows, seatsPerRow: layout.seatsPerRow },
        { name: `Flash sale ${name} ${stamp}`, maxSeatsPerUser: 8 },
      ),
      ...(waitingRoom
        ? { waiting_room: { enabled: true, admit_per_minute: options.admitPerMinute, max_active_shoppers: null } }
        : {}),
    });
    /** How each kind of server starts, what a design's event is on it, and how its end state is checked. */
    const serverKinds: Record<DesignServer, ServerKind> = {
      // 1. The load generator's own ceiling, and the classic designs: one baseline server.
      baseline: {
        name: 'baseline server',
        start: () =>
          ServerProcess.start({
            root,
            entry: 'bench/baseline-server.ts',
            env: {
              ...(needsPostgres ? { DATABASE_URL: databaseUrl.toString() } : {}),
              ...(needsRedis ? { REDIS_URL: redisUrl } : {}),
              BASELINE_KEY_PREFIX: `${prefix}bl:`,
              HOLD_TTL_SECONDS: String(options.holdTtlSeconds),
            },
          }),
        eventBody: (name, seats) => ({ mode: name, seat_count: seats }),
        check: (server, name, eventId, result) => checkBaseline(server.origin, name as BaselineMode, eventId, result),
      },
      // 2. The service on PostgreSQL + Redis: with its waiting room, then without.
      service: {
        name: 'service',
        start: (workers) => {
          serviceDataDir ??= mkdtempSync(path.join(os.tmpdir(), 'boxoffice-flash-mail-'));
          return ServerProcess.start({
            root,
            workers,
            env: {
              ...serviceEnv,
              DATABASE_URL: databaseUrl.toString(),
              REDIS_URL: redisUrl,
              REDIS_KEY_PREFIX: `${prefix}svc:`,
              DATA_DIR: serviceDataDir,
            },
          });
        },
        eventBody: (name, seats) => eventFor(name, designs[name].waitingRoom, seats),
        check: (_server, _name, eventId, result) =>
          withPostgres(databaseUrl.toString(), (query) => checkService(query, eventId, result, layout)),
        outbox: (eventId, loadEndedAtMs) =>
          withPostgres(databaseUrl.toString(), (query) => outboxFigures(query, eventId, loadEndedAtMs)),
      },
      // 3. Embedded: PGlite and in-process roles in one process; checked in its data directory once it stopped.
      embedded: {
        name: 'embedded service',
        start: () => {
          dataDir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-flash-'));
          return ServerProcess.start({ root, env: { ...serviceEnv, DATA_DIR: dataDir } });
        },
        eventBody: (name, seats) => eventFor(name, designs[name].waitingRoom, seats),
        checkAfterStop: (eventId, result) =>
          withPglite(dataDir!, (query) => checkService(query, eventId, result, layout)),
      },
    };

    /**
     * Starts one server, runs each design on it in turn (warm-up, event, buyers, check), stops
     * it, then checks what can be checked only once it has stopped.
     */
    async function runOnServer(kind: ServerKind, names: TargetName[], workers: number) {
      const server = await kind.start(workers);
      const serverName = workers > 1 ? `${kind.name} (WORKERS=${workers})` : kind.name;
      if (workers > 1) log(`${serverName} up, every worker answering`);
      servers.push(server);
      const measured: { run: TargetRun; result: BuyerRunResult }[] = [];
      for (const name of names) {
        if (stopRequested()) break;
        const design: Design = designs[name];
        const run = emptyTarget(name, seatCount, design.waitingRoom);
        if (name === 'generator') {
          await measureGenerator(run, server);
          continue;
        }
        const createEvent = async (seats: number) =>
          (await postJson(server.origin, '/v1/events', organizer, kind.eventBody(name, seats))).event_id;
        let loadEndedAtMs: number | null = null;
        await measure(
          run,
          server,
          design.postgres ? database : null,
          design.redis,
          async () => {
            await warmUp(name, server.origin, createEvent, design.waitingRoom);
            run.event_id = await createEvent(seatCount);
          },
          async () => {
            const result = await runBuyers(
              buyerOptions(server.origin, run.event_id!, name, design.waitingRoom, design.sse),
            );
            loadEndedAtMs = Date.now();
            measured.push({ run, result });
            return result;
          },
          kind.check ? (result) => kind.check!(server, name, run.event_id!, result) : null,
        );
        if (kind.outbox && run.event_id && loadEndedAtMs !== null && !stopRequested()) {
          try {
            run.outbox = await kind.outbox(run.event_id, loadEndedAtMs);
            log(outboxLine(run.name, run.outbox));
          } catch (error) {
            run.outbox = null;
            run.outbox_error = (error as Error).message;
            log(`${run.name}: outbox figures: ${run.outbox_error}`);
          }
        }
      }
      await stopServer(server, serverName);
      if (!kind.checkAfterStop) return;
      for (const { run, result } of measured) {
        if (!run.event_id) continue;
        try {
          run.check = await kind.checkAfterStop(run.event_id, result);
          run.ok = run.check.ok;
        } catch (error) {
          run.error = `check: ${(error as Error).message}`;
          run.ok = false;
        }
        log(summaryLine(run));
      }
    }

    // One server process per kind of server and number of workers, in the order of the designs.
    for (const kind of ['baseline', 'service', 'embedded'] as const) {
      const ofKind = options.targets.filter((name) => designs[name].server === kind);
      for (const workers of new Set(ofKind.map((name) => designs[name].workers))) {
        const names = ofKind.filter((name) => designs[name].workers === workers);
        if (!stopRequested()) await runOnServer(serverKinds[kind], names, workers);
      }
    }

    await cleanup();
    const problems = targets.flatMap((run) => {
      if (run.error) return [`${run.name}: ${run.error}`];
      if (run.name !== 'generator' && !run.check) return [`${run.name}: not checked`];
      const outbox = (run.outbox?.problems ?? []).map((problem) => `${run.name}: outbox: ${problem}`);
      if (run.check?.judged && !run.check.ok)
        return [...run.check.problems.map((problem) => `${run.name}: ${problem}`), ...outbox];
      return outbox;
    });
    if (stopRequested()) problems.push('interrupted');
    const { out: _out, quick: _quick, ...settings } = options;
    const result: FlashSaleRun = {
      command: `npx tsx bench/flash-sale.ts ${process.argv.slice(2).join(' ')}`.trim(),
      started_at: startedAt.toISOString(),
      mode: options.quick ? 'quick' : 'full',
      settings: { ...settings, seat_count: seatCount, layout, confirm_share: 0.8 },
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        busy_before_start_pct: busyBefore,
        load_average_1m_at_start: loadAverage,
      },
      targets,
      checks: { ok: problems.length === 0, problems },
      server_warnings: serverWarnings,
      cleanup: cleanupResult,
    };
    const out =
      options.out ??
      path.join(
        root,
        'bench',
        'results',
        `${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}-flash-sale.json`,
      );
    writeResult(out, result, root, log);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out.replace(/\.json$/, '.md'), renderFlashMarkdown(result));
    writeFileSync(out.replace(/\.json$/, '.svg'), renderFlashSvg(result));
    log(`wrote ${path.relative(root, out.replace(/\.json$/, '.md'))} and .svg`);
    if (!result.checks.ok) log(`CHECKS FAILED: ${problems.join('; ')}`);
    return result.checks.ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

runAsScript(import.meta.url, 'flash-sale', main);
