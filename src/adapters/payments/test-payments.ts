// The built-in `test` payment provider, named after Stripe's test payment methods:
// pm_card_visa succeeds, pm_card_chargeDeclined is declined. Like Stripe it dedupes by
// idempotency key, and it counts charges and refunds so tests can prove one charge per key.
// A key refunded before anything was charged under it is void: a later charge is refused.
import { randomUUID } from 'node:crypto';
import type { ChargeOutcome, ChargeRequest, Payments } from '../../app/ports/payments.ts';

export const testPaymentMethods = {
  succeeds: 'pm_card_visa',
  declined: 'pm_card_chargeDeclined',
} as const;

interface Charge {
  id: string;
  request: ChargeRequest;
  outcome: ChargeOutcome;
  refunded: boolean;
}

/** Bounded so a long-running demo cannot grow without limit; old entries are forgotten. */
const chargesRememberedMax = 100_000;

export class TestPayments implements Payments {
  private readonly byKey = new Map<string, Charge>();
  private readonly byId = new Map<string, Charge>();
  chargeCount = 0;
  refundCount = 0;

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    const previous = this.byKey.get(request.idempotencyKey);
    if (previous) return previous.outcome;
    const id = `ch_test_${randomUUID().replace(/-/g, '')}`;
    const outcome: ChargeOutcome =
      request.paymentMethod === testPaymentMethods.succeeds
        ? { kind: 'succeeded', chargeId: id }
        : {
            kind: 'declined',
            reason:
              request.paymentMethod === testPaymentMethods.declined
                ? 'Your card was declined.'
                : `unknown test payment method "${request.paymentMethod}"`,
          };
    const charge: Charge = { id, request, outcome, refunded: false };
    if (this.byKey.size >= chargesRememberedMax) this.forgetOldest();
    this.byKey.set(request.idempotencyKey, charge);
    this.byId.set(id, charge);
    if (outcome.kind === 'succeeded') this.chargeCount += 1;
    return outcome;
  }

  async refund(chargeId: string): Promise<void> {
    const charge = this.byId.get(chargeId);
    if (!charge || charge.refunded) return;
    charge.refunded = true;
    this.refundCount += 1;
  }

  async refundByKey(idempotencyKey: string): Promise<void> {
    const charge = this.byKey.get(idempotencyKey);
    if (charge) {
      if (charge.outcome.kind === 'succeeded') await this.refund(charge.id);
      return;
    }
    // Nothing charged under the key yet: void it, so a charge still on its way is refused
    // when it arrives (Stripe: the PaymentIntent is cancelled before it is confirmed).
    const voided: Charge = {
      id: `ch_test_void_${randomUUID().replace(/-/g, '')}`,
      request: { idempotencyKey, amountCents: 0, currency: 'USD', paymentMethod: '', description: 'voided' },
      outcome: { kind: 'declined', reason: 'This payment was cancelled before it was made.' },
      refunded: false,
    };
    if (this.byKey.size >= chargesRememberedMax) this.forgetOldest();
    this.byKey.set(idempotencyKey, voided);
    this.byId.set(voided.id, voided);
  }

  /** Whether this charge was refunded (for tests). */
  isRefunded(chargeId: string): boolean {
    return this.byId.get(chargeId)?.refunded === true;
  }

  /** Successful charges whose description names this text, and how many were refunded (for tests). */
  chargesDescribing(text: string): { charged: number; refunded: number } {
    let charged = 0;
    let refunded = 0;
    for (const charge of this.byKey.values()) {
      if (charge.outcome.kind !== 'succeeded' || !charge.request.description.includes(text)) continue;
      charged += 1;
      if (charge.refunded) refunded += 1;
    }
    return { charged, refunded };
  }

  private forgetOldest(): void {
    const oldest = this.byKey.entries().next().value;
    if (!oldest) return;
    this.byKey.delete(oldest[0]);
    this.byId.delete(oldest[1].id);
  }
}
