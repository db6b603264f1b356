// A server process's confirm, killed by the test right after the provider charged: run as
// `node --import tsx test/support/confirm-and-die.ts <user> <reservation> <key>` with the
// server's environment. Prints "charged <id>" and waits to be killed with SIGKILL.
import { confirmReservation } from '../../src/app/confirm-reservation.ts';
import { loadConfig } from '../../src/config.ts';
import { createRuntime } from '../../src/runtime.ts';
import { LedgerPayments } from './ledger-payments.ts';

const [userId, reservationId, idempotencyKey] = process.argv.slice(2);
const config = loadConfig();
const payments = new LedgerPayments(config.DATABASE_URL!);
payments.afterCharge = (chargeId) => {
  process.stdout.write(`charged ${chargeId}\n`);
  return new Promise(() => {}); // the charge was made; the process dies before it is recorded
};
const runtime = await createRuntime(config, { payments });
await confirmReservation(runtime.deps, {
  userId: userId!,
  reservationId: reservationId!,
  paymentMethod: 'pm_card_visa',
  idempotencyKey,
});
