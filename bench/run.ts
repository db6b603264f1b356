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
// Last, the child-process scenarios (sse-fanout, waiting-room, flash-sale, web-seat-map) each
// run their own script with its own server and stores, bounded by a timeout, and the report
// shows their figures.
//
// This file is the driver: the scenarios are the table in bench/scenarios/table.ts, each kind
// in a module of its own beside it (bench/scenarios/), and the report is bench/report.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { round } from './load.ts';
import {
  type ChildScenarioSection,
  renderMarkdown,
  type RunReport,
  type Setup,
  stampOf,
  writeReport,
} from './report.ts';
import { killAllServers, machineCpuSeconds } from './server.ts';
import { createDatabase, databaseStats, dropDatabase, postgresVersion, withPglite, withPostgres } from './verify.ts';
import {
  type ChildReportKey,
  type ChildScenarioDef,
  runChild,
  scenarioChild,
  signalChild,
} from './scenarios/child-process.ts';
import { parseArgs } from './scenarios/cli.ts';
import type { Pending, ScenarioDef } from './scenarios/kind.ts';
import { connectRedis, deleteKeys, redactUrl } from './scenarios/redis.ts';
import { interrupt, interrupted, log, options, setOptions } from './scenarios/run-state.ts';
import { searchScenario } from './scenarios/search.ts';
import { cpuPercent } from './scenarios/session.ts';
import { anomaliesOf, failedResult, runSession, summarizeToLog } from './scenarios/sessions.ts';
import { adminUrl, redisUrl, resultsDir, root, serverEnv } from './scenarios/settings.ts';
import { childScenarios } from './scenarios/table.ts';

setOptions(parseArgs(process.argv.slice(2)));

// ---------------------------------------------------------------- interruption

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
  interrupt();
  process.stderr.write(`\n${signal}: stopping the load and cleaning up (send it again to force)\n`);
  if (scenarioChild && scenarioChild.signals === 0) signalChild('SIGINT');
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

// ---------------------------------------------------------------- main

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

/** The checks a child scenario's result carries, if it has a result and checks (sse-fanout's are its figures). */
const checksOf = (section: ChildScenarioSection) =>
  (section as { run?: { checks?: { ok: boolean } } | null }).run?.checks;

/** Every scenario selected, in the order they run. */
const selectedNames = () => [...options.selected, ...options.children].map((scenario) => scenario.name);

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
  if (options.selected.some((def) => def.setup !== 'plain' && def.setup !== 'batch-off') && !interrupted) {
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
            // The same, every write its own statement and commit: what group commit buys.
            { setup: 'batch-off', label: 'postgres, WRITE_BATCH_MAX=1', env: { WRITE_BATCH_MAX: '1' } },
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
            const usesRedis = setup !== 'plain' && setup !== 'batch-off';
            if (usesRedis && !redisSpec(setup, defs)) {
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
                  env: { DATABASE_URL: url, ...(usesRedis ? { REDIS_URL: redisUrl } : {}), ...env },
                  database: { name: database, url },
                  redis: usesRedis ? redis : null,
                  onEvents: usesRedis ? (ids) => gateEventIds.push(...ids) : undefined,
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

  // Last, on a machine the other scenarios have left: each in a child process of its own.
  const children: { def: ChildScenarioDef; section: ChildScenarioSection }[] = [];
  for (const def of options.children) {
    if (interrupted) break;
    children.push({ def, section: await runChild(def, stamp, options.childArgs[def.name] ?? []) });
  }
  /** The child scenarios' sections of the report, null for those not run. */
  const childSections = Object.fromEntries(
    childScenarios.map((def) => [def.reportKey, children.find((child) => child.def === def)?.section ?? null]),
  ) as Pick<RunReport, ChildReportKey>;

  const scenarios = pending.map((entry) => entry.result);
  for (const result of scenarios) anomalies.push(...anomaliesOf(result));
  for (const { def, section } of children) anomalies.push(...def.anomalies(def.name, section));
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
    ...childSections,
    postgres_database_stats: stats,
    anomalies,
    ok: scenarios.every((result) => result.ok) && children.every(({ section }) => section.ok) && !interrupted,
  };
  const markdown =
    renderMarkdown(report) + children.map(({ def, section }) => def.appendix?.(def.name, section) ?? '').join('');
  const files = writeReport(resultsDir, stamp, report, markdown);
  process.stdout.write(`\n${markdown}\n`);
  log(`wrote ${path.relative(root, files.json)} and ${path.relative(root, files.md)}`);
  const correctnessFailed =
    scenarios.some(
      (result) => result.verification !== null && result.verification !== undefined && !result.verification.ok,
    ) || children.some(({ section }) => checksOf(section)?.ok === false);
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
