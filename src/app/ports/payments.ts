// The payment provider. Amounts in cents.

export type ChargeOutcome = { kind: 'succeeded'; chargeId: string } | { kind: 'declined'; reason: string };

export interface ChargeRequest {
  /** Charges with the same key are one charge (as with Stripe's Idempotency-Key). */
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  paymentMethod: string;
  description: string;
}

export interface Payments {
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** Refunds a charge; refunding it again does nothing. */
  refund(chargeId: string): Promise<void>;
  /**
   * Refunds the successful charge made under this idempotency key; if none was made, voids
   * the key, so a charge sent under it that reaches the provider later is refused (as a
   * Stripe PaymentIntent is cancelled). After this, no charge under the key is kept.
   */
  refundByKey(idempotencyKey: string): Promise<void>;
}
