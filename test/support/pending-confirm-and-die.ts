// A server process's confirm, killed by the test right after the provider answered it with a
// pending charge (the buyer's bank asks for 3-D Secure) and before record_pending_payment()
// kept the hold alive and stored the 202: run as
//   node --import tsx test/support/pending-confirm-and-die.ts <user> <reservation> <key> <payment method> <clock offset ms>
// with a server's environment (PAYMENT_PROVIDER=stripe and the STRIPE_* of the stand-in).
// Prints "pending <payment id> <status>" and waits to be killed with SIGKILL. Any other
// outcome of the charge is printed ("not pending …") and the process exits 1, so the test
// fails instead of waiting. The clock is the system clock plus the offset the test's own
// runtime runs on, so both processes share one timeline while the test jumps it forward.
import { confirmReservation } from '../../src/app/confirm-reservation.ts';
import type { Payments } from '../../src/app/ports/payments.ts';
import { loadConfig } from '../../src/config.ts';
import { createPayments, createRuntime } from '../../src/runtime.ts';

const [userId, reservationId, idempotencyKey, paymentMethod, offsetMsText] = process.argv.slice(2);
const offsetMs = Number(offsetMsText ?? '0');
if (!userId || !reservationId || !idempotencyKey || !paymentMethod || !Number.isFinite(offsetMs)) {
  process.stderr.write('usage: pending-confirm-and-die.ts <user> <reservation> <key> <payment method> <offset ms>\n');
  process.exit(2);
}

const config = loadConfig();
const provider = createPayments(config);
// The adapter the server would use, its charge() stopped right after the provider's answer.
const payments: Payments = {
  name: provider.name,
  async charge(request) {
    const outcome = await provider.charge(request);
    if (outcome.kind !== 'pending') {
      process.stdout.write(`not pending ${JSON.stringify(outcome)}\n`);
      process.exit(1);
    }
    process.stdout.write(`pending ${outcome.chargeId} ${outcome.status}\n`);
    return new Promise(() => {}); // the provider answered; the process dies before it is recorded
  },
  cardOf: (paymentMethod) => provider.cardOf(paymentMethod),
  retrieve: (chargeId) => provider.retrieve(chargeId),
  refund: (request) => provider.refund(request),
  voidByKey: (identity) => provider.voidByKey(identity),
  parseWebhook: (payload, signature) => provider.parseWebhook(payload, signature),
};
const runtime = await createRuntime(config, { payments, clock: { nowMs: () => Date.now() + offsetMs } });
await confirmReservation(runtime.deps, { userId, reservationId, paymentMethod, idempotencyKey });
process.stdout.write('confirm returned without charging\n');
process.exit(1);
