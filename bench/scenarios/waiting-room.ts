// waiting-room: bench/waiting-room.ts in a child process (the Redis queue, joins over HTTP, the
// admission rate); it checks itself, and what the report lists of its result.
import type { WaitingRoomSection } from '../report.ts';

export function waitingRoomAnomalies(name: string, section: WaitingRoomSection): string[] {
  const label = name;
  if (!section.run) return [`${label}: failed: ${section.error ?? 'no result'}`];
  const run = section.run;
  const found = run.checks.problems.map((problem) => `${label}: FAIL: ${problem}`);
  for (const q of run.queue) {
    const failed = Object.values(q.errors).reduce((sum, count) => sum + count, 0);
    if (failed > 0) found.push(`${label}: ${q.name}: ${failed} joins failed: ${JSON.stringify(q.errors)}`);
  }
  if (run.targets.joins_per_s_met === false) {
    const main = run.queue.find((q) => q.mode === 'arrival' && q.in_flight > 1);
    found.push(
      `${label}: ${main?.joins_per_s ?? '–'} queue joins/s misses the ${run.targets.join_target_per_s} joins/s target`,
    );
  }
  // The steady rate off by more than a few percent (judged on windows of 5 s or more: shorter ones are too coarse).
  for (const a of run.admission) {
    if (a.steady_per_s === null || a.window_s < 5) continue;
    if (Math.abs(a.steady_per_s - a.configured_per_s) > 0.03 * a.configured_per_s)
      found.push(`${label}: ${a.name} admits ${a.steady_per_s}/s, configured ${a.configured_per_s}/s`);
  }
  if (run.machine.busy_before_start_pct !== null && run.machine.busy_before_start_pct > 25)
    found.push(`${label}: the machine was ${run.machine.busy_before_start_pct}% busy before it started`);
  for (const warning of run.service_warnings.slice(0, 5)) found.push(`${label}: server logged: ${warning}`);
  if (run.cleanup.redis_keys_deleted === null || !run.cleanup.database_dropped)
    found.push(`${label}: could not clean up (${JSON.stringify(run.cleanup)})`);
  return found;
}
