// flash-sale: bench/flash-sale.ts in a child process (the same buyers against the service and the
// classic designs); it checks itself, and what the report lists of its result.
import { designs } from '../flash-designs.ts';
import { bestRefusedWithSeatsFreeMax } from '../flash-scope-report.ts';
import type { FlashSaleSection } from '../report.ts';

export function flashSaleAnomalies(name: string, section: FlashSaleSection): string[] {
  if (!section.run) return [`${name}: failed: ${section.error ?? 'no result'}`];
  const found = section.run.checks.problems.map((problem) => `${name}: FAIL: ${problem}`);
  for (const target of section.run.targets) {
    if (target.check && !target.check.ok && !target.check.judged)
      found.push(`${name}: ${target.name} (not judged): ${target.check.problems.join('; ')}`);
  }
  for (const target of section.run.targets) {
    const holds = target.check?.holds;
    if (!holds) continue;
    // Issue 19's bar (a timing-like figure: listed, never failing the run), and the judge's own premise.
    if (designs[target.name].buyers === 'best' && (holds.rate_with_seats_free ?? 0) >= bestRefusedWithSeatsFreeMax)
      found.push(
        `${name}: ${target.name}: ${(holds.rate_with_seats_free! * 100).toFixed(2)}% of best-available holds refused ` +
          `while their scope had seats (bar: under ${bestRefusedWithSeatsFreeMax * 100}%)`,
      );
    if (holds.clock_check.outside_window > 0)
      found.push(
        `${name}: ${target.name}: ${holds.clock_check.outside_window} holds stamped outside their request ` +
          `(worst ${holds.clock_check.worst_ms} ms): the 409 judgement assumes the clocks agree`,
      );
  }
  for (const target of section.run.targets) {
    for (const anomaly of target.outbox?.anomalies ?? []) found.push(`${name}: ${target.name}: ${anomaly}`);
    if (target.outbox_error) found.push(`${name}: ${target.name}: outbox figures not read: ${target.outbox_error}`);
  }
  for (const warning of section.run.server_warnings.slice(0, 5)) found.push(`${name}: server logged: ${warning}`);
  const cleanup = section.run.cleanup;
  if (cleanup.redis_keys_deleted === null && section.run.targets.some((t) => t.name !== 'embedded'))
    found.push(`${name}: could not delete its Redis keys`);
  return found;
}
