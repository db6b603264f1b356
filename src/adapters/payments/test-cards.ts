// Stripe's test payment methods and the cards behind them, as the simulation of Stripe
// (stripe-simulation.ts) and its stand-in's GET /v1/payment_methods/:id show them: what a
// confirmation with each does, and a fingerprint per card (the limit per card counts by it).
import { createHash } from 'node:crypto';

/** Stripe's test payment methods (and one of ours, for a payment that stays processing). */
export const simulatedPaymentMethods = {
  succeeds: 'pm_card_visa',
  declined: 'pm_card_chargeDeclined',
  threeDSecure: 'pm_card_threeDSecure2Required',
  processing: 'pm_card_processing',
} as const;

export type Behaviour = keyof typeof simulatedPaymentMethods;

/** Every test payment method: what a confirmation with it does, and its own card. */
const testCards: Record<string, { behaviour: Behaviour; brand: string; last4: string }> = {
  [simulatedPaymentMethods.succeeds]: { behaviour: 'succeeds', brand: 'visa', last4: '4242' },
  pm_card_mastercard: { behaviour: 'succeeds', brand: 'mastercard', last4: '4444' },
  pm_card_amex: { behaviour: 'succeeds', brand: 'amex', last4: '8431' },
  [simulatedPaymentMethods.declined]: { behaviour: 'declined', brand: 'visa', last4: '0002' },
  [simulatedPaymentMethods.threeDSecure]: { behaviour: 'threeDSecure', brand: 'visa', last4: '3184' },
  [simulatedPaymentMethods.processing]: { behaviour: 'processing', brand: 'visa', last4: '0077' },
};

/** A card's name after a method: `pm_card_visa.alice`. */
const cardNamePattern = /^[A-Za-z0-9_-]{1,40}$/;

/** A test card as a payment method shows it (the fields this service and the SDK read). */
export interface SimulatedCard {
  behaviour: Behaviour;
  brand: string;
  last4: string;
  /** The same for the same card, whatever the account or the method's behaviour. */
  fingerprint: string;
}

/**
 * The card behind a test payment method, or null when there is no such method. Each of
 * Stripe's test methods (pm_card_visa, pm_card_mastercard, pm_card_amex, pm_card_chargeDeclined,
 * pm_card_threeDSecure2Required, and our pm_card_processing) is one card of its own, with one
 * fingerprint, as a test card number is at Stripe. `<method>.<name>` (name: 1–40 letters,
 * digits, `_` or `-`) is the method's behaviour on the card called <name>: the same name is the
 * same card (one fingerprint), whatever the method, so `pm_card_chargeDeclined.alice` and
 * `pm_card_visa.alice` are one card declined once then paying; another name is another card.
 * (Real Stripe accepts only its own ids: the names are the stand-in's.)
 */
export function simulatedCard(paymentMethod: string): SimulatedCard | null {
  const dot = paymentMethod.indexOf('.');
  const method = dot < 0 ? paymentMethod : paymentMethod.slice(0, dot);
  const name = dot < 0 ? null : paymentMethod.slice(dot + 1);
  const card = Object.hasOwn(testCards, method) ? testCards[method]! : null;
  if (!card || (name !== null && !cardNamePattern.test(name))) return null;
  const digest = createHash('sha256')
    .update(name === null ? `method:${method}` : `name:${name}`)
    .digest();
  return {
    behaviour: card.behaviour,
    brand: card.brand,
    last4: name === null ? card.last4 : String(digest.readUInt16BE(0) % 10_000).padStart(4, '0'),
    fingerprint: digest.toString('base64url').slice(0, 16),
  };
}

/** A PaymentMethod as Stripe's API shows it (GET /v1/payment_methods/:id), or null. */
export function simulatedPaymentMethod(paymentMethod: string) {
  const card = simulatedCard(paymentMethod);
  if (!card) return null;
  return {
    id: paymentMethod,
    object: 'payment_method' as const,
    type: 'card' as const,
    card: {
      brand: card.brand,
      last4: card.last4,
      exp_month: 12,
      exp_year: 2034,
      country: 'US',
      funding: 'credit',
      fingerprint: card.fingerprint,
    },
    billing_details: { address: null, email: null, name: null, phone: null },
    customer: null,
    created: 1_700_000_000,
    livemode: false as const,
    metadata: {},
  };
}
