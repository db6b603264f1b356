// sse-fanout: bench/sse-fanout.ts in a child process (the live seat map's fan-out); its figures
// for the report and its checks (every subscriber got every change), read from its result.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { round } from '../load.ts';
import type { SseFanoutSection } from '../report.ts';
import type { SseFanoutRun } from '../sse-fanout.ts';
import type { ChildRun } from './child-process.ts';
import { log } from './run-state.ts';
import { root } from './settings.ts';

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

/**
 * The section of bench/sse-fanout.ts's run, its whole result in bench/results/<stamp>-sse-fanout.json.
 * Fails on a failed child and on any missed change, never on timings.
 */
export function readSseFanout(name: string, child: ChildRun, out: string): SseFanoutSection {
  const { error, ...outcome } = child;
  const section: SseFanoutSection = { ok: false, ...outcome, figures: null, targets: null };
  if (error) {
    section.error = error;
    log(`${name}: FAILED: ${section.error}`);
    return section;
  }
  let run: SseFanoutRun;
  try {
    run = JSON.parse(readFileSync(out, 'utf8')) as SseFanoutRun;
    section.figures = sseFigures(run);
  } catch (error) {
    section.error = `no readable result in ${path.relative(root, out)}: ${(error as Error).message}`;
    log(`${name}: FAILED: ${section.error}`);
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
    `${name}: ${f.subscribers_connected} of ${f.subscribers_requested} subscribers, ` +
      `delivery p50 ${d.p50} ms, p99 ${d.p99} ms, max ${d.max} ms, missed ${f.missed_pairs}; snapshot ` +
      `${f.snapshot_message_bytes.max} B; ${section.ok ? 'OK' : `FAIL: ${section.error}`} (${child.wall_s} s)`,
  );
  return section;
}

export function sseAnomalies(name: string, sse: SseFanoutSection): string[] {
  const found: string[] = [];
  const label = name;
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
