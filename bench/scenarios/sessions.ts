// Sessions: one server per backend and setup, its scenarios run in order on it, each checked;
// and what is said of any scenario's result, whatever its kind (see `kinds` in the table).
import type { Redis } from 'ioredis';
import { mintToken } from '../fixtures.ts';
import type { Backend, ScenarioResult, Setup } from '../report.ts';
import { ServerProcess } from '../server.ts';
import type { Query } from '../verify.ts';
import type { Pending, ScenarioDef } from './kind.ts';
import { interrupted, log } from './run-state.ts';
import type { Session } from './session.ts';
import { authSecret, root, serverEnv } from './settings.ts';
import { kinds } from './table.ts';

export interface SessionSpec {
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
export async function runSession(spec: SessionSpec, verifyLive: Query | null, anomalies: string[]): Promise<Pending[]> {
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
        const run = kinds[def.kind].run;
        if (!run) throw new Error(`${def.kind} scenarios run on servers of their own`);
        entry = await run(def, session, anomalies);
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

/** Logs the scenario's line (see Kind.summary). */
export function summarizeToLog(result: ScenarioResult) {
  const line = kinds[result.kind].summary(result);
  if (line) log(line);
}

/** The result of a scenario that could not run. */
export function failedResult(def: ScenarioDef, error: unknown): ScenarioResult {
  const message = error instanceof Error ? error.message : String(error);
  return kinds[def.kind].failed(def, message);
}

/** What the report lists under Anomalies for this result: a failure, the server's errors, then its kind's. */
export function anomaliesOf(result: ScenarioResult): string[] {
  const found: string[] = [];
  if (result.error) found.push(`${result.name}: scenario failed: ${result.error}`);
  if (result.server_log.errors > 0) {
    found.push(
      `${result.name}: server logged ${result.server_log.errors} errors: ${result.server_log.samples.join(' | ')}`,
    );
  }
  found.push(...kinds[result.kind].anomalies(result));
  return found;
}
