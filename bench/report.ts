// Result shapes, the markdown rendering, and writing bench/results/<stamp>-core.{json,md}.
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LoadResult, OpenLoopResult } from './load.ts';
import type { SeedStats } from './search.ts';
import type { CpuFigures } from './server.ts';
import type { Summary } from './stats.ts';
import type { DatabaseStats, EventCheck, HoldCheck, PurchaseCheck } from './verify.ts';
import type { WaitingRoomRun } from './waiting-room.ts';
import { renderComparison } from './flash-report.ts';
import type { FlashSaleRun } from './flash-sale.ts';
import type { Payments3dsRun } from './payments-3ds.ts';
import type { CheckinsRun } from './checkins.ts';
import type { SaleStatsRun } from './sale-stats.ts';
import type { WebSeatMapRun } from './web-seat-map.ts';
import { dashes, markdownTable, right } from './markdown.ts';

/** Where the holds are decided: the service on PostgreSQL or PGlite, or the ceiling server on Redis alone. */
export type Backend = 'postgres' | 'pglite' | 'redis';
/**
 * How the server under test runs: `plain` = the service without REDIS_URL; `redis-gate` =
 * REDIS_URL set, HOLD_GATE=on; `pg-only` = REDIS_URL set, HOLD_GATE=off; `ceiling` =
 * bench/ceiling-server.ts (one Lua script in Redis per hold, nothing else); `limits-shared` /
 * `limits-process` = the gate with RATE_LIMITS=on, buckets in Redis / in the process (the
 * per-address limit raised out of the way: all load comes from one address).
 */
export type Setup = 'plain' | 'batch-off' | 'redis-gate' | 'pg-only' | 'ceiling' | 'limits-shared' | 'limits-process';
export type ScenarioKind = 'create-event' | 'hold-uncontended' | 'hold-contended' | 'purchase' | 'search';

export interface ScenarioBase {
  name: string;
  backend: Backend;
  kind: ScenarioKind;
  setup: Setup;
  ok: boolean;
  error?: string;
  server_log: { warnings: number; errors: number; samples: string[] };
}

export interface CreateEventResult extends ScenarioBase {
  kind: 'create-event';
  seat_map: string;
  seat_count: number;
  body_bytes: number;
  repetitions: number;
  samples_s: number[];
  min_s: number;
  median_s: number;
  max_s: number;
  target_s: number | null;
  meets_target: boolean | null;
  verification: { ok: boolean; events: EventCheck[] } | null;
}

export interface HoldResult extends ScenarioBase {
  kind: 'hold-uncontended' | 'hold-contended';
  event: { id: string; seat_count: number; max_seats_per_user: number; setup_create_s: number } | null;
  load: {
    connections: number;
    duration_target_s: number;
    warmup_s: number;
    seats_per_request: string;
    users: number;
    hot_seats: number | null;
  };
  /** When the last 201 arrived, seconds after the load began (in the flash sale: when the hot seats sold out). */
  last_201_after_s: number | null;
  result: LoadResult | null;
  throughput_rps: number;
  rate_201_per_s: number;
  rate_409_per_s: number;
  share_201: number;
  share_409: number;
  cpu_pct_of_one_core: CpuFigures;
  /** CPU time per request (server process; PostgreSQL processes of the run; Redis). */
  cpu_ms_per_request: { server: number | null; postgres: number | null; redis: number | null };
  load_average_1m_at_start: number | null;
  /** pg_stat_activity of the service's connections, sampled every 100 ms during the load (PostgreSQL only). */
  postgres_wait_sample: { samples: number; states: Record<string, number> } | null;
  /** From the server's /metrics: mean time inside the server per hold, and its event loop delay during the load. */
  server_side: {
    hold_mean_ms: number;
    event_loop_delay_mean_ms: number;
    event_loop_delay_p99_ms: number;
    event_loop_delay_max_ms: number;
  } | null;
  verification: HoldCheck | null;
  /** hold-contended-redis only: the same workload in an open loop at a fraction of this scenario's peak. */
  open_loop?: OpenLoopPhase | null;
}

/** An open-loop (fixed arrival rate) run at `fraction` of the closed loop's peak, on a fresh event. */
export interface OpenLoopPhase {
  /** The closed-loop throughput (req/s) it is a fraction of. */
  peak_rps: number;
  fraction: number;
  target_rate_per_s: number;
  duration_target_s: number;
  max_in_flight_cap: number;
  event_id: string | null;
  result: OpenLoopResult | null;
  error?: string;
  verification: HoldCheck | null;
}

/** A hold, then a confirm of it (POST /v1/reservations/{id}/confirm), in a closed loop. */
export interface PurchaseResult extends ScenarioBase {
  kind: 'purchase';
  event: { id: string; seat_count: number; max_seats_per_user: number; setup_create_s: number } | null;
  load: {
    connections: number;
    duration_target_s: number;
    warmup_s: number;
    seats_per_request: string;
    users: number;
    payment_method: string;
  };
  /** From the first hold sent to the last confirm answer read. */
  elapsed_s: number;
  stopped_by: LoadResult['stopped_by'] | null;
  /** Iterations started (each a hold, then its confirm if the hold answered 201). */
  purchases_started: number;
  /** Iterations whose hold and confirm both answered 201. */
  purchases_completed: number;
  purchase_rate_per_s: number;
  /** The hold requests and the confirm requests, each counted apart. */
  hold: LoadResult | null;
  confirm: LoadResult | null;
  hold_rate_per_s: number;
  confirm_rate_per_s: number;
  confirm_201_per_s: number;
  cpu_pct_of_one_core: HoldResult['cpu_pct_of_one_core'];
  /** CPU time per completed purchase (hold + confirm). */
  cpu_ms_per_purchase: { server: number | null; postgres: number | null; redis: number | null };
  load_average_1m_at_start: number | null;
  postgres_wait_sample: { samples: number; states: Record<string, number> } | null;
  /** From the server's /metrics: mean time inside the server per hold and per confirm, and its event loop delay. */
  server_side: {
    hold_mean_ms: number | null;
    confirm_mean_ms: number | null;
    event_loop_delay_mean_ms: number;
    event_loop_delay_p99_ms: number;
    event_loop_delay_max_ms: number;
  } | null;
  verification: PurchaseCheck | null;
}

/** One kind of search request within a phase (see searchKinds in search.ts). */
export interface SearchKindFigures {
  requests: number;
  /** This kind's requests per second of the phase. */
  rps: number;
  latency_ms: Summary;
  /** 200 answers, and those holding at least one event (or suggestion). */
  answers_200: number;
  with_results: number;
  with_results_share: number | null;
  /** Events (suggestions) per 200 answer, of at most a page (20; 8 suggestions). */
  mean_results: number | null;
  non_2xx: Record<string, number>;
  errors: Record<string, number>;
}

/** One measured load of the search mix: with or without the catalog cache, 50 clients or one. */
export interface SearchPhase {
  name: string;
  /** CATALOG_CACHE_TTL_MS: 0 (every request reaches the database) or the default. */
  catalog_cache: 'off' | 'default';
  catalog_cache_ttl_ms: number;
  connections: number;
  duration_target_s: number;
  result: LoadResult | null;
  throughput_rps: number;
  with_results_share: number | null;
  /**
   * Requests for a path answered 200 less than the cache's TTL before they were sent: the most
   * the catalog cache could have served (0 with the cache off).
   */
  repeat_share: number;
  by_kind: Record<string, SearchKindFigures>;
  /** The slowest requests of the phase, slowest first. */
  slowest: {
    kind: string;
    path: string;
    ms: number;
    /** When it was sent, seconds after the phase began. */
    sent_at_s: number;
    status: number;
    results: number | null;
  }[];
  /** From the server's /metrics: its own mean time per request of each route, and its event loop delay. */
  server_side: {
    events_mean_ms: number | null;
    suggest_mean_ms: number | null;
    event_loop_delay_p99_ms: number;
    event_loop_delay_max_ms: number;
  } | null;
  cpu_pct_of_one_core: HoldResult['cpu_pct_of_one_core'];
  cpu_ms_per_request: { server: number | null; postgres: number | null; redis: number | null };
  postgres_wait_sample: { samples: number; states: Record<string, number> } | null;
  error?: string;
}

/** search-postgres / search-pglite: a seeded catalog, then the search mix in a closed loop. */
export interface SearchResult extends ScenarioBase {
  kind: 'search';
  seeding: { events: number; seats_per_event: number; seed: number; base_date: string };
  seed: SeedStats | null;
  load: {
    warmup_s: number;
    request_seed: number;
    /** The share of each kind of request in the mix, and what it sends. */
    mix: Record<string, number>;
    kinds: Record<string, string>;
  };
  phases: SearchPhase[];
  verification: null;
}

export type ScenarioResult = CreateEventResult | HoldResult | PurchaseResult | SearchResult;

/** A scenario run as a child process (sse-fanout, waiting-room) that writes its whole result to a file. */
export interface ChildScenarioSection {
  /** The child succeeded and its correctness checks passed (timings never fail it). */
  ok: boolean;
  error?: string;
  command: string;
  /** The child's JSON, relative to the repository (null when it wrote none). */
  result_file: string | null;
  wall_s: number;
  timeout_s: number;
  exit: { code: number | null; signal: string | null; timed_out: boolean };
}

/**
 * The sse-fanout scenario: bench/sse-fanout.ts run as a child process, which writes its whole
 * result to bench/results/<stamp>-sse-fanout.json; these are the figures the report shows.
 * Sizes in bytes, times in ms, CPU in % of one core. Null where the child did not measure it.
 * ok: every connected subscriber got every change.
 */
export interface SseFanoutSection extends ChildScenarioSection {
  figures: {
    subscribers_requested: number;
    subscribers_connected: number;
    connect_failures: Record<string, number>;
    client_processes: number;
    /** First connect to the last snapshot read, and per connection (connect to whole snapshot). */
    connect_wall_ms: number | null;
    connect_per_second: number | null;
    connect_per_connection_ms: { p50: number | null; p99: number | null; max: number | null };
    /** The `event: snapshot` SSE message. */
    snapshot_message_bytes: { min: number | null; max: number | null };
    event_seats: number;
    availability_bytes_all_free: number;
    availability_bytes_scattered_holds: number;
    scattered_holds: number;
    scattered_holds_201: number;
    seats_list_bytes: number;
    seats_list_status: number;
    seats_list_ms: { first: number; second: number };
    changes: number;
    /** Mean time between two holds' sends. */
    hold_gap_ms: number | null;
    holds_201: number;
    /** Arrival at the subscriber minus the hold's 201 read, over every (subscriber, change) pair. */
    delivery_from_201_ms: { count: number; p50: number | null; p99: number | null; max: number | null };
    expected_pairs: number;
    missed_pairs: number;
    subscribers_missing_a_change: number;
    dropped: number;
    extra_snapshots: number;
    server_rss_mb: {
      before_connect: number | null;
      after_connect: number | null;
      after_delivery: number | null;
      peak: number | null;
    };
    server_rss_kb_per_subscriber: number | null;
    server_cpu_pct: { connect: number | null; delivery: number | null };
    server_loop_delay_p99_ms: { connect: number | null; delivery: number | null };
    /** The client processes together, and the process that sends the holds (delivery phase). */
    client_cpu_pct: { connect: number | null; delivery: number | null; hold_sender_delivery: number | null };
    server_alive_after_run: boolean;
    server_warnings: string[];
  } | null;
  targets: {
    delivery_p99_under_100ms: boolean;
    snapshot_under_32kb: boolean;
    subscribers_10k_on_one_process: boolean;
    none_missed: boolean;
  } | null;
}

/**
 * The waiting-room scenario: bench/waiting-room.ts run as a child process; its whole result
 * (bench/results/<stamp>-waiting-room.json) is `run`. ok: every check passed (one place per
 * user, every HTTP join 200, the admission bound and first come first served).
 */
export interface WaitingRoomSection extends ChildScenarioSection {
  run: WaitingRoomRun | null;
}

/**
 * The flash-sale scenario: bench/flash-sale.ts run as a child process; its whole result
 * (bench/results/<stamp>-flash-sale.json, with .md and .svg beside it) is `run`. ok: no seat
 * oversold and no partial hold in the service and the atomic designs.
 */
export interface FlashSaleSection extends ChildScenarioSection {
  run: FlashSaleRun | null;
}

export interface RunReport {
  format: 'boxoffice-bench-core/2';
  started_at: string;
  finished_at: string;
  mode: 'full' | 'quick';
  interrupted: boolean;
  selected_scenarios: string[];
  environment: {
    node: string;
    platform: string;
    arch: string;
    cpu_count: number;
    cpu_model: string;
    memory_gb: number;
    postgres_version: string | null;
    redis_version: string | null;
    pglite_version: string | null;
    boxoffice_version: string;
    git_commit: string | null;
    git_dirty: boolean | null;
    /** Busy CPU of the whole machine over 2 s before the run, % of one core. */
    machine_busy_before_start_pct: number | null;
    load_average_1m_at_start: number;
  };
  server_env: Record<string, string>;
  scenarios: ScenarioResult[];
  /** The sse-fanout scenario, when selected (it runs last, in a child process). */
  sse_fanout: SseFanoutSection | null;
  /** The waiting-room scenario, when selected (after sse-fanout, in a child process). */
  waiting_room: WaitingRoomSection | null;
  /** The payments-3ds scenario, when selected (after waiting-room, in a child process). */
  payments_3ds?: (ChildScenarioSection & { run: Payments3dsRun | null }) | null;
  /** The checkins scenario, when selected (after payments-3ds, in a child process). */
  checkins?: (ChildScenarioSection & { run: CheckinsRun | null }) | null;
  /** The sale-stats scenario, when selected (after checkins, in a child process). */
  sale_stats?: (ChildScenarioSection & { run: SaleStatsRun | null }) | null;
  /** The flash-sale scenario, when selected (after checkins, in a child process). */
  flash_sale?: FlashSaleSection | null;
  /** The web app's seat map in chromium, when selected (last, in a child process). */
  web_seat_map?: (ChildScenarioSection & { run: WebSeatMapRun | null }) | null;
  postgres_database_stats: DatabaseStats | null;
  anomalies: string[];
  ok: boolean;
}

/** ISO 8601 basic format, safe in file names: 20251123T154000Z. */
export function stampOf(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number | undefined) =>
  value === undefined || Number.isNaN(value) ? '–' : value >= 10 ? value.toFixed(1) : value.toFixed(2);
const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
const backendName = (backend: Backend) =>
  backend === 'postgres' ? 'PostgreSQL' : backend === 'pglite' ? 'PGlite' : 'Redis';
/** The server under test, as the tables name it. */
export const setupName = (s: { backend: Backend; setup: Setup }) =>
  s.setup === 'batch-off'
    ? 'PostgreSQL, batcher off (WRITE_BATCH_MAX=1)'
    : s.setup === 'redis-gate'
      ? 'PostgreSQL + Redis gate'
      : s.setup === 'pg-only'
        ? 'PostgreSQL, gate off'
        : s.setup === 'ceiling'
          ? 'Redis only (ceiling)'
          : s.setup === 'limits-shared'
            ? 'Redis gate + rate limits in Redis'
            : s.setup === 'limits-process'
              ? 'Redis gate + rate limits per process'
              : backendName(s.backend);
/** Text for a table cell or a list item: one line, pipes escaped. */
const cell = (text: string) => text.replace(/\s*\n\s*/g, ' ⏎ ').replace(/\|/g, '\\|');

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '0' : entries.map(([key, count]) => `${key} ×${int(count)}`).join(', ');
}

const latencyPair = (summary: Summary | undefined) => (summary ? `${ms(summary.p50)} / ${ms(summary.p99)}` : '–');
const cpuPercent = (value: number | null) => (value === null ? '–' : `${Math.round(value)}%`);
/** Server, Postgres, Redis, Bench and Other CPU, in that order. */
const cpuCells = (cpu: CpuFigures) =>
  [cpu.server, cpu.postgres, cpu.redis, cpu.bench_client, cpu.other].map(cpuPercent);

export function renderMarkdown(report: RunReport): string {
  const env = report.environment;
  const lines: string[] = [];
  const holds = report.scenarios.filter(
    (s): s is HoldResult => s.kind === 'hold-uncontended' || s.kind === 'hold-contended',
  );
  const purchases = report.scenarios.filter((s): s is PurchaseResult => s.kind === 'purchase');
  const creates = report.scenarios.filter((s): s is CreateEventResult => s.kind === 'create-event');
  const firstLoad = holds[0] ?? purchases[0];
  lines.push(`# Boxoffice core benchmark, ${report.started_at} (${report.mode})`);
  lines.push('');
  lines.push(
    `node ${env.node} · ${env.cpu_count} CPUs (${env.cpu_model}) · PostgreSQL ${env.postgres_version ?? '–'} · ` +
      `Redis ${env.redis_version ?? '–'} · ` +
      `PGlite ${env.pglite_version ?? '–'} · commit ${env.git_commit ?? '–'}${env.git_dirty ? ' (dirty)' : ''}` +
      (firstLoad
        ? ` · ${firstLoad.load.connections} connections, ${firstLoad.load.duration_target_s} s per load scenario ` +
          `after ${firstLoad.load.warmup_s} s warm-up`
        : '') +
      ` · machine busy before start: ${env.machine_busy_before_start_pct ?? '–'}% of one core, ` +
      `load average ${env.load_average_1m_at_start}`,
  );
  lines.push('');
  if (creates.length > 0) {
    lines.push(`## Event creation (POST /v1/events, wall time of the request)`);
    lines.push('');
    const columns = [
      'Scenario',
      'Backend',
      'Seat map',
      right('Runs'),
      right('Min (s)'),
      right('Median (s)'),
      right('Max (s)'),
      'Target',
      'Seats in DB',
    ];
    const rows = creates.map((s) => {
      if (!s.ok && s.samples_s.length === 0)
        return [s.name, setupName(s), s.seat_map, '0', '–', '–', '–', '–', `FAILED: ${cell(s.error ?? '')}`];
      const target = s.target_s === null ? '–' : `< ${s.target_s} s: ${s.meets_target ? 'met' : 'MISSED'}`;
      const seats = s.verification
        ? s.verification.ok
          ? `${int(s.seat_count)} OK`
          : `FAIL: ${cell(s.verification.events.flatMap((e) => e.problems).join('; '))}`
        : 'not checked';
      return [
        s.name,
        setupName(s),
        s.seat_map,
        String(s.repetitions),
        s.min_s.toFixed(2),
        s.median_s.toFixed(2),
        s.max_s.toFixed(2),
        target,
        seats,
      ];
    });
    lines.push(...markdownTable(columns, rows));
    lines.push('');
  }
  if (holds.length > 0) {
    lines.push('## Holds (POST /v1/events/{id}/reservations, closed loop)');
    lines.push('');
    const columns = [
      'Scenario',
      'Backend',
      ...['Requests', 'Req/s', '201/s', '409/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Max ms'].map(right),
      'Errors',
      'Non-2xx',
      'Correctness',
    ];
    const rows = holds.map((s) => {
      if (!s.result) return [s.name, setupName(s), ...dashes(10), `FAILED: ${cell(s.error ?? '')}`];
      const l = s.result.latency_ms.all;
      const correctness = s.verification
        ? `${s.verification.ok ? 'OK' : 'FAIL'}: ${s.verification.summary}` +
          (s.verification.ok ? '' : `; ${cell(s.verification.problems.join('; '))}`)
        : `not checked${s.error ? `: ${cell(s.error)}` : ''}`;
      return [
        s.name,
        setupName(s),
        int(s.result.requests),
        int(s.throughput_rps),
        int(s.rate_201_per_s),
        int(s.rate_409_per_s),
        ms(l.p50),
        ms(l.p99),
        ms(l.p99_9),
        ms(l.max),
        counts(s.result.errors),
        counts(s.result.non_2xx),
        correctness,
      ];
    });
    lines.push(...markdownTable(columns, rows));
    lines.push('');
  }
  if (holds.some((s) => s.result)) {
    const columns = [
      'Scenario',
      'Seats/request',
      ...['201 share', '409 share', '201 p50 / p99 ms', '409 p50 / p99 ms', 'Server-side mean ms'].map(right),
      ...['Loop delay p99 ms', 'Server CPU', 'Postgres CPU', 'Redis CPU', 'Bench CPU', 'Other CPU'].map(right),
      right('CPU ms/req server + PG + Redis'),
      'Stopped by',
    ];
    const rows = holds.flatMap((s) => {
      if (!s.result) return [];
      const hot = s.load.hot_seats ? ` of ${s.load.hot_seats} hot seats` : '';
      return [
        [
          s.name,
          `${s.load.seats_per_request}${hot}`,
          pct(s.share_201),
          pct(s.share_409),
          latencyPair(s.result.latency_ms.by_status['201']),
          latencyPair(s.result.latency_ms.by_status['409']),
          ms(s.server_side?.hold_mean_ms),
          ms(s.server_side?.event_loop_delay_p99_ms),
          ...cpuCells(s.cpu_pct_of_one_core),
          `${ms(s.cpu_ms_per_request.server ?? undefined)} + ${ms(s.cpu_ms_per_request.postgres ?? undefined)} + ` +
            `${ms(s.cpu_ms_per_request.redis ?? undefined)}`,
          s.result.stopped_by,
        ],
      ];
    });
    lines.push(...markdownTable(columns, rows));
    lines.push('');
    lines.push(
      `CPU is a percentage of one core over the measured window (${env.cpu_count} cores = ${env.cpu_count * 100}%). ` +
        '"Other" is everything else busy on the machine meanwhile; when it is large, the figures above are depressed by it.',
    );
    lines.push('');
  }
  for (const s of holds) {
    if (s.kind !== 'hold-contended' || !s.verification || !s.load.hot_seats) continue;
    lines.push(
      `${s.name}: ${s.verification.hot_seats_held ?? '–'} of ${s.load.hot_seats} hot seats held at the end by ` +
        `${int(s.verification.active_reservations)} reservations; the last 201 came ${s.last_201_after_s ?? '–'} s ` +
        `into the ${s.load.duration_target_s} s load; no hold succeeded after that.`,
    );
    lines.push('');
  }
  lines.push(...renderGateComparison(holds));
  if (purchases.length > 0) {
    lines.push('## Purchases (a hold, then POST /v1/reservations/{id}/confirm of it, closed loop)');
    lines.push('');
    lines.push('Confirm requests:');
    lines.push('');
    const confirmColumns = [
      'Scenario',
      'Backend',
      ...['Confirms', 'Confirms/s', '201/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Max ms'].map(right),
      'Statuses',
      'Errors',
      'Non-2xx',
      right('Purchases/s'),
      'Correctness',
    ];
    const confirmRows = purchases.map((s) => {
      if (!s.confirm) return [s.name, setupName(s), ...dashes(11), `FAILED: ${cell(s.error ?? '')}`];
      const l = s.confirm.latency_ms.all;
      const correctness = s.verification
        ? `${s.verification.ok ? 'OK' : 'FAIL'}: ${s.verification.summary}` +
          (s.verification.ok ? '' : `; ${cell(s.verification.problems.join('; '))}`)
        : `not checked${s.error ? `: ${cell(s.error)}` : ''}`;
      return [
        s.name,
        setupName(s),
        int(s.confirm.requests),
        int(s.confirm_rate_per_s),
        int(s.confirm_201_per_s),
        ms(l.p50),
        ms(l.p99),
        ms(l.p99_9),
        ms(l.max),
        counts(s.confirm.statuses),
        counts(s.confirm.errors),
        counts(s.confirm.non_2xx),
        int(s.purchase_rate_per_s),
        correctness,
      ];
    });
    lines.push(...markdownTable(confirmColumns, confirmRows));
    lines.push('');
    lines.push('The whole purchase (hold + confirm):');
    lines.push('');
    const purchaseColumns = [
      'Scenario',
      'Seats/purchase',
      ...['Purchases (both 201)', 'Holds', 'Hold p50 / p99 ms'].map(right),
      'Hold statuses',
      ...['Server-side mean ms hold / confirm', 'Loop delay p99 ms', 'Server CPU', 'Postgres CPU'].map(right),
      ...['Redis CPU', 'Bench CPU', 'Other CPU', 'CPU ms/purchase server + PG + Redis'].map(right),
      'Stopped by',
    ];
    const purchaseRows = purchases.flatMap((s) => {
      if (!s.hold) return [];
      return [
        [
          s.name,
          s.load.seats_per_request,
          `${int(s.purchases_completed)} of ${int(s.purchases_started)}`,
          int(s.hold.requests),
          latencyPair(s.hold.latency_ms.all),
          counts(s.hold.statuses),
          `${ms(s.server_side?.hold_mean_ms ?? undefined)} / ${ms(s.server_side?.confirm_mean_ms ?? undefined)}`,
          ms(s.server_side?.event_loop_delay_p99_ms),
          ...cpuCells(s.cpu_pct_of_one_core),
          `${ms(s.cpu_ms_per_purchase.server ?? undefined)} + ${ms(s.cpu_ms_per_purchase.postgres ?? undefined)} + ` +
            `${ms(s.cpu_ms_per_purchase.redis ?? undefined)}`,
          s.stopped_by ?? '–',
        ],
      ];
    });
    lines.push(...markdownTable(purchaseColumns, purchaseRows));
    lines.push('');
    if (!holds.some((s) => s.result)) {
      lines.push(
        `CPU is a percentage of one core over the measured window (${env.cpu_count} cores = ${env.cpu_count * 100}%). ` +
          '"Other" is everything else busy on the machine meanwhile; when it is large, the figures above are depressed by it.',
      );
      lines.push('');
    }
    for (const s of purchases) {
      if (!s.verification) continue;
      const v = s.verification;
      lines.push(
        `${s.name}: ${int(v.bookings)} bookings holding ${int(v.seats_in_bookings)} seats; ` +
          `${int(v.booked_seats_rows)} booked_seats rows, ${int(v.seats_marked_booked)} seats marked booked; ` +
          `${int(v.confirmed_reservations)} confirmed and ${int(v.active_reservations)} still active reservations ` +
          `of ${int(v.responses_hold_201)} holds answered 201.`,
      );
      lines.push('');
    }
  }
  const sampled = [...holds, ...purchases].filter((s) => s.postgres_wait_sample && s.postgres_wait_sample.samples > 0);
  if (sampled.length > 0) {
    lines.push(
      "Where the service's PostgreSQL connections were, sampled every 100 ms during the load (share of samples):",
    );
    lines.push('');
    for (const s of sampled) {
      const states = Object.entries(s.postgres_wait_sample!.states);
      const total = states.reduce((sum, [, count]) => sum + count, 0);
      const top = states
        .slice(0, 5)
        .map(([state, count]) => `${state} ${pct(count / total)}`)
        .join(', ');
      lines.push(`- ${s.name}: ${top}`);
    }
    lines.push('');
  }
  if (report.postgres_database_stats) {
    const stats = report.postgres_database_stats;
    lines.push(
      `PostgreSQL bench database totals: deadlocks ${stats.deadlocks}, commits ${int(stats.xact_commit)}, ` +
        `rollbacks ${int(stats.xact_rollback)}, conflicts ${stats.conflicts}.`,
    );
    lines.push('');
  }
  lines.push(...renderSearch(report.scenarios.filter((s): s is SearchResult => s.kind === 'search')));
  if (report.sse_fanout) lines.push(...renderSseFanout(report.sse_fanout));
  if (report.waiting_room) lines.push(...renderWaitingRoom(report.waiting_room));
  if (report.flash_sale) {
    const section = report.flash_sale;
    lines.push('## Flash sale (bench/flash-sale.ts)', '');
    if (section.run) lines.push(...renderComparison(section.run), '');
    lines.push(
      `${section.ok ? 'OK' : `FAIL: ${section.error ?? ''}`} · ${section.wall_s} s · every figure in ` +
        `${section.result_file ?? '(no result)'} and beside it (.md, .svg)`,
      '',
    );
  }
  lines.push('## Anomalies');
  lines.push('');
  if (report.anomalies.length === 0)
    lines.push('None: no 5xx, no transport errors, no server errors, all checks passed.');
  else for (const anomaly of report.anomalies) lines.push(`- ${cell(anomaly)}`);
  lines.push('');
  return lines.join('\n');
}

const ratio = (value: number, base: number | undefined) =>
  base === undefined || !(base > 0) ? '–' : `${(value / base).toFixed(2)}×`;

/**
 * The hold gate comparison: per workload, the service without Redis, with REDIS_URL and
 * HOLD_GATE=off, with the gate on, and the ceiling server; throughput and latency, and each
 * one's throughput as a multiple of the ceiling's and of the PG-only path's. Then the
 * open-loop run at 80% of the gate's contended peak.
 */
function renderGateComparison(holds: HoldResult[]): string[] {
  if (!holds.some((s) => s.setup !== 'plain' && s.result)) return [];
  const order: Setup[] = ['plain', 'batch-off', 'pg-only', 'redis-gate', 'limits-shared', 'limits-process', 'ceiling'];
  const lines: string[] = [];
  lines.push('## Hold gate comparison (same workload, one run)');
  lines.push('');
  const columns = [
    'Workload',
    'Server',
    'Scenario',
    ...['Req/s', '201/s', 'p50 ms', 'p99 ms', 'p99.9 ms', '409 share', 'Errors + 5xx'].map(right),
    'Correctness',
    right('× ceiling'),
    right('× PG-only'),
    right('× batcher off'),
  ];
  const rows = (['hold-contended', 'hold-uncontended'] as const).flatMap((kind) => {
    const runs = holds
      .filter((s) => s.kind === kind && s.backend !== 'pglite' && s.result)
      .sort((a, b) => order.indexOf(a.setup) - order.indexOf(b.setup));
    const rps = (setup: Setup) => runs.find((s) => s.setup === setup)?.throughput_rps;
    return runs.map((s) => {
      const l = s.result!.latency_ms.all;
      const failures =
        Object.values(s.result!.errors).reduce((a, b) => a + b, 0) +
        Object.entries(s.result!.statuses)
          .filter(([status]) => status.startsWith('5'))
          .reduce((a, [, n]) => a + n, 0);
      const correctness = s.verification ? `${s.verification.ok ? 'OK' : 'FAIL'}: ${s.verification.summary}` : '–';
      return [
        kind === 'hold-contended' ? 'contended' : 'uncontended',
        setupName(s),
        s.name,
        int(s.throughput_rps),
        int(s.rate_201_per_s),
        ms(l.p50),
        ms(l.p99),
        ms(l.p99_9),
        pct(s.share_409),
        int(failures),
        correctness,
        s.setup === 'ceiling' ? '1.00×' : ratio(s.throughput_rps, rps('ceiling')),
        s.setup === 'pg-only' ? '1.00×' : ratio(s.throughput_rps, rps('pg-only')),
        s.setup === 'batch-off' ? '1.00×' : ratio(s.throughput_rps, rps('batch-off')),
      ];
    });
  });
  lines.push(...markdownTable(columns, rows));
  lines.push('');
  lines.push(
    '× ceiling / × PG-only: the row’s req/s divided by the ceiling server’s, and by the service’s with HOLD_GATE=off, ' +
      'on the same workload. The ceiling server checks no token, runs no JSON schema, no per-user cap and no PostgreSQL. ' +
      '× batcher off: the same, divided by the service without Redis and with every hold its own statement and commit ' +
      '(WRITE_BATCH_MAX=1): what group commit buys.',
  );
  lines.push('');
  const open = holds.filter((s) => s.open_loop);
  if (open.length > 0) {
    lines.push('### Open loop at a fixed arrival rate (latency from each request’s scheduled send time)');
    lines.push('');
    const openColumns = [
      'Scenario',
      ...['Closed-loop peak req/s', 'Target req/s', 'Achieved req/s', 'Requests', 'Unsent'].map(right),
      ...['p50 ms', 'p99 ms', 'p99.9 ms', 'Max ms', '201 p50 / p99 ms', '409 p50 / p99 ms'].map(right),
      ...['Send lag p99 ms', 'Max in flight'].map(right),
      'Statuses',
      'Errors',
      'Correctness',
    ];
    const openRows = open.map((s) => {
      const o = s.open_loop!;
      const head = [`${s.name} at ${Math.round(o.fraction * 100)}%`, int(o.peak_rps), int(o.target_rate_per_s)];
      if (!o.result) return [...head, ...dashes(13), `FAILED: ${cell(o.error ?? '')}`];
      const r = o.result;
      const l = r.latency_ms.all;
      const correctness = o.verification
        ? `${o.verification.ok ? 'OK' : 'FAIL'}: ${o.verification.summary}` +
          (o.verification.ok ? '' : `; ${cell(o.verification.problems.join('; '))}`)
        : 'not checked';
      return [
        ...head,
        int(r.achieved_rate_per_s),
        int(r.requests),
        int(r.unsent),
        ms(l.p50),
        ms(l.p99),
        ms(l.p99_9),
        ms(l.max),
        latencyPair(r.latency_ms.by_status['201']),
        latencyPair(r.latency_ms.by_status['409']),
        ms(r.send_lag_ms.p99),
        `${r.max_in_flight} of ${o.max_in_flight_cap}`,
        counts(r.statuses),
        counts(r.errors),
        correctness,
      ];
    });
    lines.push(...markdownTable(openColumns, openRows));
    lines.push('');
    for (const s of open) {
      const r = s.open_loop!.result;
      if (!r || r.by_second.length === 0) continue;
      lines.push(
        `${s.name} open loop, p99 ms of the requests due in each second: ` +
          r.by_second.map((b) => `${b.second}–${b.second + 1} s: ${ms(b.p99)} (${int(b.requests)})`).join(', ') +
          '.',
      );
      lines.push('');
    }
    lines.push(
      'Each request is due at start + i / rate and is sent then whatever the earlier answers do (up to the in-flight cap); ' +
        'its latency counts from the due time, so a server falling behind shows as latency, not as a slower client. ' +
        'Run on a fresh event with the same seeded seat requests as the closed loop, for the target duration.',
    );
    lines.push('');
  }
  return lines;
}

const bytes = (value: number | null) => (value === null ? '–' : `${int(value)} B`);
const metOrNot = (met: boolean) => (met ? 'met' : 'MISSED');

/** The sse-fanout scenario: the live seat map's fan-out and the seat map documents, one figure per row. */
function renderSseFanout(sse: SseFanoutSection): string[] {
  const lines: string[] = [];
  lines.push('## Live seat map: SSE fan-out (GET /v1/events/{id}/seats/stream, one service process)');
  lines.push('');
  const f = sse.figures;
  if (!f) {
    lines.push(`FAILED: ${cell(sse.error ?? 'no result')} (${sse.command}, ${sse.wall_s} s).`);
    lines.push('');
    return lines;
  }
  const t = sse.targets!;
  const n = (value: number | null) => (value === null ? '–' : int(value));
  const cpu = (value: number | null) => (value === null ? '–' : `${Math.round(value)}%`);
  const mbs = (value: number | null) => (value === null ? '–' : `${value.toFixed(1)} MB`);
  const failures = Object.keys(f.connect_failures).length > 0 ? ` (failures: ${counts(f.connect_failures)})` : '';
  const subscribersNote =
    f.subscribers_requested < 10_000
      ? ' (fewer than the 10,000 target: a quick run)'
      : ` (10,000 on one process: ${metOrNot(t.subscribers_10k_on_one_process)})`;
  const rows: [string, string][] = [
    [
      'Subscribers connected',
      `${int(f.subscribers_connected)} of ${int(f.subscribers_requested)}${failures}${subscribersNote}, ` +
        `from ${f.client_processes} client processes`,
    ],
    [
      'Connect time',
      `${ms(f.connect_wall_ms ?? undefined)} ms for all (first connect to last snapshot read, ` +
        `${n(f.connect_per_second)}/s); per connection p50 / p99 / max ${ms(f.connect_per_connection_ms.p50 ?? undefined)} / ` +
        `${ms(f.connect_per_connection_ms.p99 ?? undefined)} / ${ms(f.connect_per_connection_ms.max ?? undefined)} ms`,
    ],
    [
      'Snapshot message',
      f.snapshot_message_bytes.min === f.snapshot_message_bytes.max
        ? bytes(f.snapshot_message_bytes.max)
        : `${bytes(f.snapshot_message_bytes.min)} – ${bytes(f.snapshot_message_bytes.max)}`,
    ],
    [
      `GET /availability, ${int(f.event_seats)} seats`,
      `${bytes(f.availability_bytes_all_free)} all free; ${bytes(f.availability_bytes_scattered_holds)} with ` +
        `${int(f.scattered_holds_201)} scattered holds (of ${int(f.scattered_holds)} sent)`,
    ],
    [
      'GET /seats (full list)',
      `${bytes(f.seats_list_bytes)} (status ${f.seats_list_status}) in ${ms(f.seats_list_ms.first)} ms, ` +
        `again ${ms(f.seats_list_ms.second)} ms`,
    ],
    [
      'Delivery from the 201, p50 / p99 / max',
      `${ms(f.delivery_from_201_ms.p50 ?? undefined)} / ${ms(f.delivery_from_201_ms.p99 ?? undefined)} / ` +
        `${ms(f.delivery_from_201_ms.max ?? undefined)} ms over ${int(f.delivery_from_201_ms.count)} deliveries ` +
        `(${f.holds_201} of ${f.changes} holds answered 201)`,
    ],
    [
      'Missed (must be 0)',
      `${f.missed_pairs === 0 ? '0' : `**${int(f.missed_pairs)}**`} of ${int(f.expected_pairs)} ` +
        `(subscriber, change) pairs; ${int(f.subscribers_missing_a_change)} subscribers missing a change, ` +
        `${int(f.dropped)} dropped, ${int(f.extra_snapshots)} extra snapshots`,
    ],
    [
      'Server RSS',
      `${mbs(f.server_rss_mb.before_connect)} before connecting, ${mbs(f.server_rss_mb.after_connect)} connected ` +
        `(${f.server_rss_kb_per_subscriber === null ? '–' : `${f.server_rss_kb_per_subscriber.toFixed(1)} KB`} per ` +
        `subscriber), ${mbs(f.server_rss_mb.after_delivery)} after delivery, peak ${mbs(f.server_rss_mb.peak)}`,
    ],
    [
      'Server CPU',
      `${cpu(f.server_cpu_pct.connect)} connecting, ${cpu(f.server_cpu_pct.delivery)} during the holds and delivery; ` +
        `loop delay p99 ${ms(f.server_loop_delay_p99_ms.connect ?? undefined)} / ` +
        `${ms(f.server_loop_delay_p99_ms.delivery ?? undefined)} ms`,
    ],
    [
      'Client CPU',
      `${cpu(f.client_cpu_pct.connect)} connecting, ${cpu(f.client_cpu_pct.delivery)} during delivery ` +
        `(client processes together); hold sender ${cpu(f.client_cpu_pct.hold_sender_delivery)}`,
    ],
    [
      'Targets',
      `delivery p99 < 100 ms: ${metOrNot(t.delivery_p99_under_100ms)}; ` +
        `snapshot < 32 KB: ${metOrNot(t.snapshot_under_32kb)}`,
    ],
    [
      'Result',
      `${sse.ok ? 'OK' : `FAIL: ${cell(sse.error ?? '')}`}${f.server_alive_after_run ? '' : '; the service died'}`,
    ],
  ];
  lines.push(...markdownTable(['Figure', 'Value'], rows));
  lines.push('');
  lines.push(
    `The service on PostgreSQL with REDIS_URL, one process; ${int(f.subscribers_requested)} subscribers on raw ` +
      `sockets, then ${f.changes} holds of one seat each, one at a time, ${f.hold_gap_ms ?? '–'} ms apart. Delivery ` +
      `counts from reading the hold's 201 to each subscriber reading the \`seat\` message (the client processes' ` +
      `clocks corrected to the sender's). CPU in % of one core. ` +
      `Whole result: ${sse.result_file ?? '–'} (${sse.wall_s} s).`,
  );
  lines.push('');
  return lines;
}

/** The waiting-room scenario: the Redis queue alone, joins over HTTP, the admission rate. */
function renderWaitingRoom(section: WaitingRoomSection): string[] {
  const lines: string[] = ['## Waiting room (bench/waiting-room.ts)', ''];
  const run = section.run;
  if (!run) {
    lines.push(`FAILED: ${cell(section.error ?? 'no result')} (${section.command}, ${section.wall_s} s).`, '');
    return lines;
  }
  const cpu = (value: number | null) => (value === null ? '–' : `${value}%`);
  const check = (ok: boolean, problems: string[]) => (ok ? 'OK' : `**FAIL**: ${cell(problems.join('; '))}`);
  if (run.queue.length > 0) {
    const columns = [
      'Queue joins (RedisWaitingRoom)',
      ...['Joins', 'In flight', 'Joins/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Max ms'].map(right),
      ...['Redis CPU', 'Client CPU', 'Machine CPU', 'B/user used_memory', 'B/user queue key'].map(right),
      'Check',
    ];
    const rows = run.queue.map((q) => {
      const l = q.latency_ms;
      const m = q.memory;
      return [
        q.name,
        int(q.joins_answered),
        int(q.in_flight),
        int(q.joins_per_s),
        ms(l.p50),
        ms(l.p99),
        ms(l.p99_9),
        ms(l.max),
        cpu(q.cpu_pct.redis),
        cpu(q.cpu_pct.client),
        cpu(q.cpu_pct.machine),
        m ? m.bytes_per_user.toFixed(1) : '–',
        `${m?.queue_key_bytes_per_user?.toFixed(1) ?? '–'}${m?.encoding ? ` (${m.encoding})` : ''}`,
        `${check(q.check.ok, q.check.problems)}` +
          (q.check.rank_correlation === null ? '' : `, rank correlation ${q.check.rank_correlation}`),
      ];
    });
    lines.push(...markdownTable(columns, rows));
    lines.push('');
    lines.push(
      `Target: ${int(run.targets.join_target_per_s)} joins/s on the arrival run with user-000123 ids: ` +
        `${run.targets.joins_per_s_met === null ? '–' : metOrNot(run.targets.joins_per_s_met)}. Latency is from the ` +
        'call to its answer, including the wait behind the other joins in flight. B/user used_memory: Redis INFO ' +
        'used_memory after the joins minus before, per user; queue key: MEMORY USAGE (SAMPLES 0) of the line. CPU in ' +
        '% of one core (the machine has ' +
        `${run.machine.cpus}).`,
    );
    lines.push('');
  }
  if (run.http.length > 0) {
    const columns = [
      'HTTP joins (POST /v1/events/{id}/queue)',
      ...['Connections', 'Joins', 'Joins/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Max ms'].map(right),
      'Statuses',
      'Waiting / admitted',
      ...['Server-side mean ms', 'Server CPU', 'Redis CPU', 'Bench CPU', 'Machine CPU'].map(right),
      'Check',
    ];
    const rows = run.http.map((h) => {
      const r = h.result;
      if (!r) return [h.name, String(h.connections), ...dashes(13), check(false, h.check.problems)];
      const l = r.latency_ms.all;
      return [
        h.name,
        String(h.connections),
        int(r.requests),
        int(h.joins_per_s),
        ms(l.p50),
        ms(l.p99),
        ms(l.p99_9),
        ms(l.max),
        counts({ ...r.statuses, ...r.errors }),
        `${int(h.answer_status.waiting ?? 0)} / ${int(h.answer_status.admitted ?? 0)}`,
        ms(h.server_side_mean_ms ?? undefined),
        cpu(h.cpu_pct.server),
        cpu(h.cpu_pct.redis),
        cpu(h.cpu_pct.client),
        cpu(h.cpu_pct.machine),
        check(h.check.ok, h.check.problems),
      ];
    });
    lines.push(...markdownTable(columns, rows));
    lines.push('');
    lines.push(
      'The service on PostgreSQL with REDIS_URL, an event admitting 600 per minute (the admitter runs meanwhile: ' +
        'the check counts the line and the admitted together), one distinct user per join; the load generator runs ' +
        'on the same 2 cores.',
    );
    lines.push('');
  }
  if (run.admission.length > 0) {
    const cellsOf = (a: WaitingRoomRun['admission'][number]): string[] =>
      a.error
        ? [`**FAIL**: ${cell(a.check.problems.join('; '))}`, '', '', '', '', '', '', '']
        : [
            `${int(a.admit_per_minute)}/min = ${a.configured_per_s}/s, tick ${a.tick_ms} ms, burst ${a.burst}`,
            `**${a.measured_per_s}/s** (${int(a.admitted_in_window)}; rate·${a.window_s} s + burst = ${a.expected_in_window})`,
            a.steady_per_s === null ? '–' : `**${a.steady_per_s}/s**`,
            a.per_second.join(', '),
            `${a.max_in_any_1s} (bound ${a.bound_1s}: ${a.check.bound_holds ? 'holds' : '**VIOLATED**'})`,
            `${int(a.batches)} (mean ${a.mean_batch} each); first ${a.first_admission_after_opening_ms ?? '–'} ms after the opening`,
            `${int(a.queued)} in the pre-queue: ${int(a.admitted_total)} admitted, ${int(a.queue_left)} left`,
            `first come first served ${a.check.first_come_first_served ? 'yes' : '**no**'}; ${check(a.check.ok, a.check.problems)}`,
          ];
    const names = [
      'Configured',
      `Measured over ${run.admission[0]!.window_s} s from the first admission`,
      'After the first second',
      'Admitted in each second',
      'Most admitted in any 1 s',
      'Admission ticks in the window',
      'Line',
      'Result',
    ];
    const columns = run.admission.map(cellsOf);
    lines.push(
      ...markdownTable(
        ['Admission rate', ...run.admission.map((a) => a.name)],
        names.map((name, row) => [name, ...columns.map((column) => column[row]!)]),
      ),
    );
    lines.push('');
    lines.push(
      'Each service process ticks the admitter every ADMIT_TICK_MS; the admitted set is read back after the window ' +
        '(admitted at = its score − the 900 s admission window). The first tick finds a full meter (the burst), so ' +
        "the window's rate is about rate + burst / window; the rate after the first second is the steady one.",
    );
    lines.push('');
  }
  lines.push(
    `Checks: ${run.checks.ok ? 'all passed' : `**FAILED**: ${cell(run.checks.problems.join('; '))}`}. ` +
      `Whole result: ${section.result_file ?? '–'} (${section.wall_s} s).`,
  );
  lines.push('');
  return lines;
}

/**
 * The search scenarios: how the catalog was seeded, then one row per phase (cache off with
 * one client and with 50, the default cache with 50), then per kind of request.
 */
function renderSearch(searches: SearchResult[]): string[] {
  if (searches.length === 0) return [];
  const lines: string[] = [];
  const cpu = (value: number | null) => (value === null ? '–' : `${Math.round(value)}%`);
  const share = (value: number | null) => (value === null ? '–' : pct(value));
  lines.push('## Search (GET /v1/events?q=… and GET /v1/search/suggest, closed loop)');
  lines.push('');
  for (const s of searches) {
    const seed = s.seed;
    if (!seed) {
      lines.push(`${s.name}: seeding FAILED: ${cell(s.error ?? '')}`);
      lines.push('');
      continue;
    }
    const t = seed.seconds;
    lines.push(
      `${s.name} (${setupName(s)}): seeded ${int(seed.events)} events (${int(seed.published)} published), ` +
        `${int(seed.seats)} seats, ${int(seed.venues)} venues, ${int(seed.performers)} performers, ` +
        `${int(seed.event_performers)} event_performers rows in **${t.total.toFixed(1)} s** ` +
        `(${int(seed.events_per_s)} events/s: migrate ${t.migrate.toFixed(1)} s, events with their search columns ` +
        `${t.events.toFixed(1)} s, seats ${t.seats.toFixed(1)} s, performers ${t.event_performers.toFixed(1)} s, ` +
        `VACUUM ANALYZE ${t.vacuum_analyze.toFixed(1)} s); events ${seed.events_mb ?? '–'} MB, seats ` +
        `${seed.seats_mb ?? '–'} MB with indexes; search columns as refresh_event_search() makes them: ` +
        `${seed.search_check.mismatched === 0 ? 'OK' : `**${seed.search_check.mismatched} differ**`} ` +
        `(${seed.search_check.sampled} sampled).`,
    );
    lines.push('');
  }
  const rows = searches.flatMap((s) => s.phases.map((phase) => ({ s, phase })));
  if (rows.length > 0) {
    const columns = [
      'Scenario',
      'Backend',
      right('Events'),
      'Catalog cache',
      ...['Clients', 'Requests', 'Req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Max ms', '≥1 result'].map(right),
      right('Repeats in TTL'),
      'Errors',
      'Non-2xx',
      ...['Server-side mean ms events / suggest', 'Loop delay p99 ms', 'Server CPU', 'Postgres CPU'].map(right),
      ...['Bench CPU', 'Other CPU', 'CPU ms/req server + PG'].map(right),
    ];
    const tableRows = rows.map(({ s, phase }) => {
      const cache =
        phase.catalog_cache === 'off' ? 'off (TTL 0)' : `default (TTL ${int(phase.catalog_cache_ttl_ms)} ms)`;
      const head = [s.name, setupName(s), int(s.seeding.events), cache, String(phase.connections)];
      if (!phase.result) return [...head, ...dashes(16), `FAILED: ${cell(phase.error ?? '')}`];
      const r = phase.result;
      const l = r.latency_ms.all;
      const side = phase.server_side;
      return [
        ...head,
        int(r.requests),
        int(phase.throughput_rps),
        ms(l.p50),
        ms(l.p99),
        ms(l.p99_9),
        ms(l.max),
        share(phase.with_results_share),
        phase.catalog_cache === 'off' ? '–' : pct(phase.repeat_share),
        counts(r.errors),
        counts(r.non_2xx),
        `${ms(side?.events_mean_ms ?? undefined)} / ${ms(side?.suggest_mean_ms ?? undefined)}`,
        ms(side?.event_loop_delay_p99_ms),
        cpu(phase.cpu_pct_of_one_core.server),
        cpu(phase.cpu_pct_of_one_core.postgres),
        cpu(phase.cpu_pct_of_one_core.bench_client),
        cpu(phase.cpu_pct_of_one_core.other),
        `${ms(phase.cpu_ms_per_request.server ?? undefined)} + ${ms(phase.cpu_ms_per_request.postgres ?? undefined)}`,
      ];
    });
    lines.push(...markdownTable(columns, tableRows));
    lines.push('');
    lines.push(
      'Latency is from sending the request to having read the whole answer; with 50 clients in a closed loop it ' +
        'includes the time a request waits for the server (≈ 50 / req/s), so the one-client row is what one ' +
        'search costs on an idle server. ≥1 result: the share of 200 answers with at least one event (suggestion). ' +
        'Repeats in TTL: requests for a query answered less than the cache TTL before, the most the cache could serve. ' +
        'Server-side mean: the service’s own time per request (its /metrics), without the wait in the socket.',
    );
    lines.push('');
  }
  for (const s of searches) {
    if (s.phases.every((phase) => !phase.result)) continue;
    const phases = s.phases.filter((phase) => phase.result);
    lines.push(`${s.name}, per kind of request (share of the mix):`);
    lines.push('');
    const columns = [
      'Kind',
      right('Share'),
      ...phases.flatMap((phase) => [`${phase.name}: req/s`, 'p50 / p99 ms', '≥1 result'].map(right)),
    ];
    const kindRows = Object.entries(s.load.mix).map(([kind, weight]) => [
      kind,
      pct(weight),
      ...phases.flatMap((phase) => {
        const k = phase.by_kind[kind];
        if (!k) return dashes(3);
        const bad = Object.keys(k.errors).length + Object.keys(k.non_2xx).length > 0 ? ' ⚠' : '';
        return [int(k.rps), `${latencyPair(k.latency_ms)}${bad}`, share(k.with_results_share)];
      }),
    ]);
    lines.push(...markdownTable(columns, kindRows));
    lines.push('');
    const uncached = s.phases.find((phase) => phase.catalog_cache === 'off' && phase.connections > 1 && phase.result);
    if (uncached && uncached.slowest.length > 0) {
      lines.push(
        `${s.name}, slowest requests without the cache (50 clients): ` +
          uncached.slowest
            .slice(0, 5)
            .map(
              (slow) => `\`${cell(decodeURIComponent(slow.path))}\` ${ms(slow.ms)} ms (${slow.results ?? '–'} results)`,
            )
            .join(', ') +
          '.',
      );
      lines.push('');
    }
    const waits = s.phases.filter((phase) => phase.postgres_wait_sample && phase.postgres_wait_sample.samples > 0);
    for (const phase of waits) {
      const states = Object.entries(phase.postgres_wait_sample!.states);
      const total = states.reduce((sum, [, count]) => sum + count, 0);
      lines.push(
        `${s.name} (${phase.name}), the service's PostgreSQL connections, sampled every 100 ms: ` +
          states
            .slice(0, 4)
            .map(([state, count]) => `${state} ${pct(count / total)}`)
            .join(', ') +
          '.',
      );
      lines.push('');
    }
  }
  const kinds = searches[0]?.load.kinds;
  if (kinds) {
    lines.push('The kinds of request:');
    lines.push('');
    for (const [kind, text] of Object.entries(kinds)) lines.push(`- **${kind}**: ${cell(text)}`);
    lines.push('');
  }
  return lines;
}

function writeAtomically(file: string, text: string) {
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

export function writeReport(resultsDir: string, stamp: string, report: RunReport, markdown: string) {
  mkdirSync(resultsDir, { recursive: true });
  const json = path.join(resultsDir, `${stamp}-core.json`);
  const md = path.join(resultsDir, `${stamp}-core.md`);
  writeAtomically(json, `${JSON.stringify(report, null, 2)}\n`);
  writeAtomically(md, markdown);
  return { json, md };
}
