// payments-3ds: bench/payments-3ds.ts in a child process (buyers of whom a share pay with
// 3-D Secure, their bank answering after a think time; some cancel and are refunded); it
// checks itself, and its table comes after the report's own.
import type { Payments3dsRun } from '../payments-3ds.ts';
import type { ChildScenarioSection } from '../report.ts';

export type Payments3dsSection = ChildScenarioSection & { run: Payments3dsRun | null };

export function payments3dsAnomalies(name: string, section: Payments3dsSection): string[] {
  if (!section.run) return [`${name}: failed: ${section.error ?? 'no result'}`];
  return [
    ...section.run.checks.problems.map((problem) => `${name}: FAIL: ${problem}`),
    ...section.run.anomalies.slice(0, 10).map((anomaly) => `${name}: ${anomaly}`),
  ];
}

export function payments3dsAppendix(name: string, section: Payments3dsSection): string {
  const run = section.run;
  if (!run) return '';
  const { purchases, settings } = run;
  return (
    `\n## Payments with 3-D Secure (${name})\n\n` +
    `${settings.sessions} buyer sessions for ${settings.seconds} s, ${settings.share_3ds_pct}% paying with ` +
    `pm_card_threeDSecure2Required (think time ${settings.think_ms}, the bank says no ${settings.bank_fails}), ` +
    `${settings.cancels} cancelled by the buyer; reservations and bookings polled every ${settings.poll_ms} ms. ` +
    `${purchases.booked_at_once + purchases.booked_after_3ds} purchases (${purchases.per_s}/s: ` +
    `${purchases.booked_at_once} at once, ${purchases.booked_after_3ds} after 3-D Secure), ` +
    `${purchases.released_after_3ds} released by the bank, ${purchases.cancelled} cancelled and refunded. ` +
    `Server CPU ${run.cpu_pct_of_one_core.server ?? '–'}%, PostgreSQL ${run.cpu_pct_of_one_core.postgres ?? '–'}% ` +
    `of one core. ${run.checks.ok ? 'OK' : `FAIL: ${run.checks.problems.join('; ')}`}.\n\n${run.table}\n`
  );
}
