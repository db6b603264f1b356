// search-postgres / search-pglite: a catalog seeded straight into a database of its own, then
// the search mix in closed loops on servers of its own (bench/search.ts has the catalog and the mix).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectPostgres, type Database, openPglite } from '../../src/adapters/postgres/database.ts';
import { round, runLoad, type LoadRequest } from '../load.ts';
import type { SearchKindFigures, SearchPhase, SearchResult } from '../report.ts';
import {
  resultCount,
  searchKindDescriptions,
  searchMix,
  searchRequests,
  type SearchKind,
  seedCatalog,
} from '../search.ts';
import { ServerProcess } from '../server.ts';
import { createDatabase, dropDatabase } from '../verify.ts';
import { emptyLog, type Kind, type ScenarioDef } from './kind.ts';
import { interrupted, log, options } from './run-state.ts';
import { perRequest, type Session, startMeasuring } from './session.ts';
import {
  adminUrl,
  connections,
  defaultCatalogCacheTtlMs,
  requestTimeoutMs,
  root,
  searchDataSeed,
  searchEvents,
  searchRequestSeed,
  searchSeatsPerEvent,
  searchSingleClientSeconds,
  searchWarmupSeed,
  serverEnv,
} from './settings.ts';

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
export async function searchScenario(def: ScenarioDef, stamp: string, anomalies: string[]): Promise<SearchResult> {
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

/** Search runs on servers of its own (searchScenario), not in a session: no run here. */
export const searchKind: Kind<SearchResult> = {
  failed: (def, message) => ({ ...emptySearchResult(def), ok: false, error: message }),
  summary: () => null,
  anomalies(result) {
    const found: string[] = [];
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
  },
};
