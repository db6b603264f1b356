// flash-sale: bench/flash-sale.ts in a child process (the same buyers against the service and the
// classic designs); it checks itself, and what the report lists of its result.
import type { FlashSaleSection } from '../report.ts';

export function flashSaleAnomalies(name: string, section: FlashSaleSection): string[] {
  if (!section.run) return [`${name}: failed: ${section.error ?? 'no result'}`];
  const found = section.run.checks.problems.map((problem) => `${name}: FAIL: ${problem}`);
  for (const target of section.run.targets) {
    if (target.check && !target.check.ok && !target.check.judged)
      found.push(`${name}: ${target.name} (not judged): ${target.check.problems.join('; ')}`);
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
