import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { DomainError } from '../../src/domain/errors.ts';
import {
  assertSaleOpen,
  assertWithinUserLimit,
  holdExpiresAt,
  isHoldLive,
  parseHoldRequest,
  reservationStatusAt,
  seatStatusAt,
} from '../../src/domain/holds.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DomainError);
    return error.code;
  }
  return 'no error';
};

describe('hold rules with an injected clock', () => {
  test('when the clock is 1 ms before expires_at, then the seat is held; at expires_at, available', () => {
    const clock = new ManualClock(Date.parse('2027-01-10T15:00:00Z'));
    const expiresAtMs = holdExpiresAt(clock.nowMs(), 600_000);
    clock.set(expiresAtMs - 1);
    assert.equal(seatStatusAt({ booked: false, holdExpiresAtMs: expiresAtMs }, clock.nowMs()), 'held');
    assert.equal(reservationStatusAt('active', expiresAtMs, clock.nowMs()), 'active');
    clock.advance(1);
    assert.equal(seatStatusAt({ booked: false, holdExpiresAtMs: expiresAtMs }, clock.nowMs()), 'available');
    assert.equal(reservationStatusAt('active', expiresAtMs, clock.nowMs()), 'expired');
    assert.equal(isHoldLive(null, clock.nowMs()), false);
  });

  test('when a seat is booked, then it stays booked whatever the hold says', () => {
    assert.equal(seatStatusAt({ booked: true, holdExpiresAtMs: null }, 0), 'booked');
    assert.equal(reservationStatusAt('confirmed', 0, 10), 'confirmed');
    assert.equal(reservationStatusAt('cancelled', 100, 10), 'cancelled');
  });

  test('when the sale opens, then holds are refused before and allowed from that instant', () => {
    assert.equal(
      code(() => assertSaleOpen(1_000, 999)),
      'SALE_NOT_OPEN',
    );
    assert.equal(
      code(() => assertSaleOpen(1_000, 1_000)),
      'no error',
    );
  });

  test('when a request names seats, then unknown, duplicate, empty and too many are refused', () => {
    assert.deepEqual(parseHoldRequest(['s3', 's1'], 10, 4), [3, 1]);
    assert.equal(
      code(() => parseHoldRequest([], 10, 4)),
      'VALIDATION_FAILED',
    );
    assert.equal(
      code(() => parseHoldRequest(['s1', 's2', 's3', 's4', 's5'], 10, 4)),
      'TOO_MANY_SEATS',
    );
    assert.equal(
      code(() => parseHoldRequest(['s1', 's1'], 10, 4)),
      'DUPLICATE_SEATS',
    );
    assert.equal(
      code(() => parseHoldRequest(['s1', 's10'], 10, 4)),
      'UNKNOWN_SEATS',
    );
  });

  test('when held and booked seats plus the request pass the per-user cap, then the hold is refused', () => {
    assert.equal(
      code(() => assertWithinUserLimit(6, 2, 8)),
      'no error',
    );
    assert.equal(
      code(() => assertWithinUserLimit(6, 3, 8)),
      'USER_SEAT_LIMIT_EXCEEDED',
    );
  });
});
