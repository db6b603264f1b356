// What an event's refund policy lets a buyer do now, and what they get back: the same sums
// the service makes when it takes seats back (migrations/functions/cancel_booking.sql), so
// the amount shown before the buyer confirms is the amount refunded. No DOM, no clock:
// the time is passed in (test/unit/web-refund-policy.test.ts runs this in Node).
import type { RefundPolicy } from './api.ts';

const hourMs = 3_600_000;

export interface RefundQuote {
  /** What the seats given back cost. */
  valueCents: number;
  /** Kept under the policy. */
  feeCents: number;
  /** What comes back to the card. */
  refundCents: number;
}

/**
 * The refund for seats given back together: their price less fee_percent of it, the fee
 * rounded to the minor unit half away from zero (as PostgreSQL's round() on numeric), once
 * over all the seats, not seat by seat.
 */
export function refundQuote(seatPricesCents: number[], feePercent: number): RefundQuote {
  const valueCents = seatPricesCents.reduce((sum, price) => sum + price, 0);
  const feeCents = roundedPercentOf(valueCents, feePercent);
  return { valueCents, feeCents, refundCents: valueCents - feeCents };
}

/** round(value * percent / 100) in exact integer arithmetic (a float product can land a hair off a half). */
function roundedPercentOf(value: number, percent: number): number {
  const written = /^\d+(?:\.(\d{1,6}))?$/.exec(String(percent));
  if (!written) return Math.round((value * percent) / 100);
  const decimals = written[1]?.length ?? 0;
  const scale = 10 ** decimals;
  const numerator = BigInt(value) * BigInt(Math.round(percent * scale));
  const denominator = BigInt(100 * scale);
  return Number((2n * numerator + denominator) / (2n * denominator));
}

export type CancelWindow =
  | { open: true; closesAtMs: number }
  | { open: false; why: 'no_policy' | 'event_cancelled' | 'closed'; closesAtMs: number | null };

/**
 * Whether a buyer may cancel now: only under a policy, until buyer_cancel_until_hours before
 * the start. A cancelled event refunds every booking itself, so the buyer has nothing to do.
 */
export function cancelWindow(
  event: { status: string; starts_at: string; refund_policy: RefundPolicy | null },
  nowMs: number,
): CancelWindow {
  if (event.status === 'cancelled') return { open: false, why: 'event_cancelled', closesAtMs: null };
  const policy = event.refund_policy;
  if (!policy) return { open: false, why: 'no_policy', closesAtMs: null };
  const closesAtMs = Date.parse(event.starts_at) - policy.buyer_cancel_until_hours * hourMs;
  return nowMs < closesAtMs ? { open: true, closesAtMs } : { open: false, why: 'closed', closesAtMs };
}
