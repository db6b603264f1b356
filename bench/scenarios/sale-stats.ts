// sale-stats: bench/sale-stats.ts in a child process (an organizer polls a large event's sale
// figures while buyers book); it checks itself, and its table comes after the report's own.
import type { ChildScenarioSection } from '../report.ts';
import type { SaleStatsRun } from '../sale-stats.ts';

export type SaleStatsSection = ChildScenarioSection & { run: SaleStatsRun | null };

export function saleStatsAnomalies(name: string, section: SaleStatsSection): string[] {
  if (!section.run) return [`${name}: failed: ${section.error ?? 'no result'}`];
  return [
    ...section.run.checks.problems.map((problem) => `${name}: FAIL: ${problem}`),
    ...section.run.anomalies.slice(0, 10).map((anomaly) => `${name}: ${anomaly}`),
  ];
}

export function saleStatsAppendix(name: string, section: SaleStatsSection): string {
  const run = section.run;
  if (!run) return '';
  return (
    `\n## The organizer's live sale figures (${name})\n\n` +
    `An event of ${run.settings.seats.toLocaleString('en-US')} seats; ${run.sale.bookings} bookings of ` +
    `${run.sale.seats_booked} seats (${run.sale.seats_refunded} refunded by the organizer) in ${run.sale.elapsed_s} s ` +
    `while the organizer polled GET …/stats every ${run.settings.poll_ms} ms. ` +
    `${run.checks.ok ? 'OK' : `FAIL: ${run.checks.problems.join('; ')}`}.\n\n${run.table}\n`
  );
}
