// One pass of the server's own sweeper (src/app/expire-holds.ts startSweeper): expiry, the
// settlement of ended payments, due refunds, reconciliation of quiet pending payments, the
// event cancellation jobs, and the runtime's figures after it (refunds_failing), exactly as
// server.ts wires it. The test's ManualClock decides what is due.
import { startSweeper } from '../../src/app/expire-holds.ts';
import type { TestApp } from './harness.ts';

export async function sweepOnce(t: TestApp, batchSize = 100): Promise<void> {
  let sweeper: ReturnType<typeof startSweeper> | undefined;
  let stopped: Promise<void> | undefined;
  await new Promise<void>((resolve, reject) => {
    sweeper = startSweeper(t.runtime.deps, {
      intervalMs: 1,
      batchSize,
      keyRetentionMs: t.config.IDEMPOTENCY_KEY_RETENTION_HOURS * 3_600_000,
      onError: reject,
      afterSweep: async () => {
        // No second pass: stop() marks the sweeper stopped at once (it finishes this pass).
        stopped = sweeper!.stop();
        await t.runtime.refreshFailingRefunds();
        resolve();
      },
    });
  }).finally(() => sweeper?.stop());
  await stopped;
}
