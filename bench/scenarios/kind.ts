// What a kind of scenario (create-event, hold-*, purchase, search) gives the benchmark: how it
// runs, its result when it could not run, its log line and its anomalies. bench/scenarios/table.ts
// has one of these per kind; the scenarios of the table name their kind.
import type { Backend, ScenarioKind, ScenarioResult, Setup } from '../report.ts';
import type { Query } from '../verify.ts';
import type { Session } from './session.ts';

/** A scenario the benchmark measures itself, on a server it starts (see the table). */
export interface ScenarioDef {
  name: string;
  backend: Backend;
  kind: ScenarioKind;
  /** Which server runs it, and how (see Setup in report.ts). */
  setup: Setup;
  /** After the closed loop, an open-loop run at openLoopFraction of its peak. */
  openLoop?: boolean;
}

/** Checks a scenario's end state in the database and records the check in its result. */
export type Verify = (query: Query) => Promise<void>;

/** A scenario that ran, its check still to do (PGlite: once its server has stopped). */
export interface Pending {
  result: ScenarioResult;
  verify?: Verify;
}

/**
 * The behaviour of one kind of scenario. Methods rather than function properties: a
 * Kind<HoldResult> then stands where a Kind<ScenarioResult> is asked for (the table dispatches on
 * a result's own kind, so each gets its own type of result).
 */
export interface Kind<Result extends ScenarioResult> {
  /** Runs it on the session's server; none for search, which starts servers of its own. */
  run?(def: ScenarioDef, session: Session, anomalies: string[]): Promise<{ result: Result; verify?: Verify }>;
  /** Its result when it could not run. */
  failed(def: ScenarioDef, message: string): Result;
  /** Its line in the log once it ran (and once verified), if any. */
  summary(result: Result): string | null;
  /** What the report lists under Anomalies besides a failure and the server's errors: failed checks among them. */
  anomalies(result: Result): string[];
}

export function emptyLog() {
  return { warnings: 0, errors: 0, samples: [] as string[] };
}

/** What every failed result starts with. */
export const failedBase = (def: ScenarioDef, message: string) => ({
  name: def.name,
  backend: def.backend,
  setup: def.setup,
  ok: false,
  error: message,
  server_log: emptyLog(),
});
