// The web app's refund sums (web/src/refund-policy.ts), run in Node: the refund a buyer is
// shown before cancelling is the one the service makes (cancel_booking.sql: the fee is
// round(value * fee_percent / 100) on numeric, half away from zero, once over the seats
// cancelled together), and the cancel window follows the event's policy.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cancelWindow, refundQuote } from '../../web/src/refund-policy.ts';

describe('the refund shown before a buyer cancels', () => {
  test('when there is no fee, then the whole price comes back', () => {
    assert.deepEqual(refundQuote([9000, 9000], 0), { valueCents: 18000, feeCents: 0, refundCents: 18000 });
  });

  test('when there is a fee, then it is taken once over the seats cancelled together', () => {
    assert.deepEqual(refundQuote([9000, 9000], 10), { valueCents: 18000, feeCents: 1800, refundCents: 16200 });
    // 3 × 33 cents at 50%: 49.5 rounds to 50 over the three, not 16.5 → 17 three times (51).
    assert.deepEqual(refundQuote([33, 33, 33], 50), { valueCents: 99, feeCents: 50, refundCents: 49 });
  });

  test('when the fee lands on a half cent, then it rounds half away from zero as PostgreSQL does, not as a float would', () => {
    // 3000 × 1.15 / 100 is 34.5 exactly; in floating point 34.49999999999999.
    assert.equal(refundQuote([3000], 1.15).feeCents, 35);
    assert.equal(refundQuote([4500], 12.5).feeCents, 563);
    assert.equal(refundQuote([3000], 4.35).feeCents, 131);
    assert.equal(refundQuote([5000], 100).refundCents, 0);
  });
});

describe('whether a buyer may cancel now', () => {
  const startsAt = '2027-01-10T20:00:00.000Z';
  const hourMs = 3_600_000;
  const event = (
    refund_policy: { buyer_cancel_until_hours: number; fee_percent: number } | null,
    status = 'published',
  ) => ({
    status,
    starts_at: startsAt,
    refund_policy,
  });
  const closesAtMs = Date.parse(startsAt) - 48 * hourMs;

  test('when the event has a policy, then until its hours before the start and not after', () => {
    const policy = { buyer_cancel_until_hours: 48, fee_percent: 5 };
    assert.deepEqual(cancelWindow(event(policy), closesAtMs - 1), { open: true, closesAtMs });
    assert.deepEqual(cancelWindow(event(policy), closesAtMs), { open: false, why: 'closed', closesAtMs });
  });

  test('when the event has no policy or is cancelled, then the buyer cannot cancel, and the reason says which', () => {
    assert.equal((cancelWindow(event(null), 0) as { why: string }).why, 'no_policy');
    const cancelled = cancelWindow(event({ buyer_cancel_until_hours: 0, fee_percent: 0 }, 'cancelled'), 0);
    assert.equal((cancelled as { why: string }).why, 'event_cancelled');
  });
});
