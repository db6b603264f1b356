// The scenarios that run as child processes (bench/sse-fanout.ts, bench/waiting-room.ts,
// bench/payments-3ds.ts, bench/flash-sale.ts, bench/web-seat-map.ts): what the table says of
// each, running one bounded by its timeout with Ctrl-C passed on, and reading the result it wrote.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { round } from '../load.ts';
import type { ChildScenarioSection, RunReport } from '../report.ts';
import { interrupted, log, options } from './run-state.ts';
import { childGraceMs, resultsDir, root } from './settings.ts';

/** The sections of the core report that child scenarios fill in. */
export type ChildReportKey =
  'sse_fanout' | 'waiting_room' | 'payments_3ds' | 'checkins' | 'sale_stats' | 'flash_sale' | 'web_seat_map';

/**
 * A scenario run as `node --import tsx <script> [--quick] [passed options] --out
 * bench/results/<stamp>-<name>.json`, after every other scenario. Methods rather than function
 * properties, so that a definition with its own kind of section stands in the table.
 */
export interface ChildScenarioDef<Section extends ChildScenarioSection = ChildScenarioSection> {
  name: string;
  kind: 'child';
  script: string;
  /** Then SIGINT (it cleans up), SIGTERM after childGraceMs (it exits at once), SIGKILL last. */
  timeoutMs: { quick: number; full: number };
  /** Its section in <stamp>-core.json (null when it was not selected or did not run). */
  reportKey: ChildReportKey & keyof RunReport;
  /** Options of `npm run bench` passed on to it as they are (a name of it may then be given without --scenario). */
  passedFlags?: readonly string[];
  /** What it is, for the usage: lines of `--scenario`'s note. */
  usage: readonly string[];
  /** Its report section from how it ended and the result it wrote (its checks decide `ok`). */
  read(name: string, child: ChildRun, out: string): Section;
  /** What the report lists under Anomalies (its failed checks among them). */
  anomalies(name: string, section: Section): string[];
  /** Markdown added after the report's own (the web seat map's table). */
  appendix?(name: string, section: Section): string;
}

/** The child scenario while it runs (its own process group: Ctrl-C reaches it through us). */
export let scenarioChild: { child: ChildProcess; signals: number } | null = null;
/** The child cleans up on its first SIGINT / SIGTERM and exits at once on the second. */
export function signalChild(signal: NodeJS.Signals) {
  if (!scenarioChild || scenarioChild.child.exitCode !== null || scenarioChild.child.signalCode !== null) return;
  scenarioChild.signals += 1;
  scenarioChild.child.kill(signal);
}

/** How a scenario's child process ended (see runChildScenario). */
export interface ChildRun {
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

/** Runs the child scenario (runChildScenario) and reads its result into its report section. */
export async function runChild(def: ChildScenarioDef, stamp: string, extraArgs: string[]) {
  const out = path.join(resultsDir, `${stamp}-${def.name}.json`);
  const timeoutMs = options.quick ? def.timeoutMs.quick : def.timeoutMs.full;
  const child = await runChildScenario(def.name, def.script, out, timeoutMs, extraArgs);
  return def.read(def.name, child, out);
}

/**
 * Reads the result of a child scenario that carries its own checks ({checks: {ok, problems}}): it
 * exits 1 when a check failed and still writes its figures; a failed check, a failed child or
 * no result fails the scenario.
 */
export function readCheckedResult<Run extends { checks: { ok: boolean; problems: string[] } }>(
  name: string,
  child: ChildRun,
  out: string,
): ChildScenarioSection & { run: Run | null } {
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
