// The expiry sweeper. Reads are already correct without it (lazy expiry); it finalizes
// reservations and clears seat rows so the database tells the truth to anyone reading it.
import { runEventCancellations } from './cancellations.ts';
import { settleRefunds } from './confirm-reservation.ts';
import type { Deps } from './deps.ts';
import { reconcilePendingPayments, sendDueRefunds } from './payments.ts';

export async function expireDueHolds(
  deps: Pick<Deps, 'reservations' | 'clock' | 'board'>,
  batchSize: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const { ended, changes } = await deps.reservations.expireDue(deps.clock.nowMs(), batchSize);
    for (const [eventId, states] of changes) await deps.board.apply(eventId, states);
    total += ended;
    if (ended < batchSize) return total;
  }
}

/**
 * Forgets completed Idempotency-Keys older than the retention window (a client retries
 * within minutes, not days); one batch per call keeps each sweep short.
 */
export async function purgeOldIdempotencyKeys(
  deps: Pick<Deps, 'idempotency' | 'clock'>,
  retentionMs: number,
  batchSize: number,
): Promise<number> {
  return deps.idempotency.purgeIdempotencyKeys(deps.clock.nowMs() - retentionMs, batchSize);
}

export interface Sweeper {
  stop(): Promise<void>;
}

/**
 * Every intervalMs: ends due holds, voids or refunds the payment attempts of reservations
 * that ended without a booking, sends due refunds (new, or retried after a failure), asks
 * the provider about pending payments its webhooks were quiet on, steps the cancellation
 * jobs of cancelled events, forgets old Idempotency-Keys. Errors are reported, never fatal.
 */
export function startSweeper(
  deps: Deps,
  options: {
    intervalMs: number;
    batchSize: number;
    keyRetentionMs: number;
    onError: (error: unknown) => void;
    /** After each sweep (the runtime refreshes its figures). */
    afterSweep?: () => Promise<void>;
  },
): Sweeper {
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped || running) return; // a slow sweep is never stacked behind another
    running = expireDueHolds(deps, options.batchSize)
      .then(() => settleRefunds(deps, options.batchSize))
      .then(() => sendDueRefunds(deps, options.batchSize))
      .then(() => reconcilePendingPayments(deps, deps.settings.reconcileAfterMs, options.batchSize))
      .then(() => runEventCancellations(deps, options.batchSize))
      .then(() => purgeOldIdempotencyKeys(deps, options.keyRetentionMs, options.batchSize))
      .then(() => options.afterSweep?.())
      .catch(options.onError)
      .finally(() => {
        running = null;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
