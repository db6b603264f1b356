// checkins: bench/checkins.ts in a child process (buyers book an event's seats, then scanner
// clients check every ticket in, some twice); it checks itself, and its table comes after the
// report's own.
import type { CheckinsRun } from '../checkins.ts';
import { outboxTable } from '../outbox-figures.ts';
import type { ChildScenarioSection } from '../report.ts';

export type CheckinsSection = ChildScenarioSection & { run: CheckinsRun | null };

export function checkinsAnomalies(name: string, section: CheckinsSection): string[] {
  if (!section.run) return [`${name}: failed: ${section.error ?? 'no result'}`];
  return [
    ...section.run.checks.problems.map((problem) => `${name}: FAIL: ${problem}`),
    ...section.run.anomalies.slice(0, 10).map((anomaly) => `${name}: ${anomaly}`),
  ];
}

export function checkinsAppendix(name: string, section: CheckinsSection): string {
  const run = section.run;
  if (!run) return '';
  const { settings, booking, scans, database } = run;
  const outbox = run.outbox
    ? `\n\nThe bookings' facts in the outbox (the database bus: no Redis), drained before the scans:\n\n` +
      outboxTable([['bookings of this run', run.outbox]]).join('\n')
    : '';
  return (
    `\n## Check-in at the door (${name})\n\n` +
    `${settings.buyers} buyers booked ${booking.seats_booked} seats in ${booking.bookings} bookings ` +
    `(${booking.elapsed_s} s); then ${settings.scanners} scanner clients (${settings.scanner_tokens}) sent ` +
    `${scans.sent} scans in random order, ${scans.duplicates_listed} of them a ticket's second scan: ` +
    `${scans.answered} answered in ${scans.elapsed_s} s, ${scans.per_s} scans/s (${scans.admitted_per_s} admitted/s), ` +
    `p50 ${scans.latency_ms.all.p50} ms, p99 ${scans.latency_ms.all.p99} ms. Server CPU ` +
    `${run.cpu_pct_of_one_core.server ?? '–'}%, PostgreSQL ${run.cpu_pct_of_one_core.postgres ?? '–'}%, machine ` +
    `${run.cpu_pct_of_one_core.machine ?? '–'}% of one core during the scans. ${database.checkins} check-ins stored for ` +
    `${database.tickets_scanned} tickets scanned. ${run.checks.ok ? 'OK' : `FAIL: ${run.checks.problems.join('; ')}`}.` +
    `\n\n${run.table}${outbox}\n`
  );
}
