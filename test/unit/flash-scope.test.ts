// The flash-sale benchmark's judge of hold answers (bench/flash-scope.ts) and its check of
// best-available answers (bench/flash-best.ts): on a small venue whose history is known, each
// 409 is refused rightly only when its scope had no free seat during the request, and "room"
// asks for as many adjacent free seats in one row.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bestWish, notAsAsked } from '../../bench/flash-best.ts';
import type { HoldAttempt } from '../../bench/flash-hold.ts';
import { checkBestHolds, judgeHolds } from '../../bench/flash-scope.ts';
import type { Query } from '../../bench/verify.ts';

/** One front section of 2 rows × 4 seats: row 0 is seats 0–3, row 1 seats 4–7. */
const layout = { sections: 1, rows: 2, seatsPerRow: 4 };

const reservations = [
  // Row 0 held from 1,000 to 2,000 (walked away: expired); row 1 booked from 1,500 for ever.
  { id: 'r1', seat_nos: [0, 1, 2, 3], status: 'expired', created_ms: 1_000, expires_ms: 2_000, ended_ms: 2_100 },
  { id: 'r2', seat_nos: [4, 5, 6, 7], status: 'confirmed', created_ms: 1_500, expires_ms: 2_500, ended_ms: null },
  // From 2,200 seat 1 is held again: row 0 keeps seats 0, 2 and 3 free, never 3 together.
  { id: 'r3', seat_nos: [1], status: 'active', created_ms: 2_200, expires_ms: 9_000, ended_ms: null },
];

/** A query that answers the judge's reads from the rows above. */
const query: Query = async <Row>(text: string, params?: unknown[]) => {
  if (text.includes('ANY(')) {
    const ids = params![1] as string[];
    return reservations.filter((row) => ids.includes(row.id)).map(({ id, seat_nos }) => ({ id, seat_nos })) as Row[];
  }
  return reservations as Row[];
};

const attempt = (
  sentMs: number,
  answeredMs: number,
  status: number,
  count: number,
  tier: string | null = null,
  reservationId: string | null = null,
): HoldAttempt => ({
  sentMs,
  answeredMs,
  status,
  code: status === 409 ? 'NOT_ENOUGH_SEATS' : null,
  detail: status === 409 ? `no ${count} seats together are available` : null,
  tier,
  count,
  reservationId,
});

describe('the flash sale judge of hold answers', () => {
  const attempts = [
    attempt(900, 1_100, 201, 4, null, 'r1'), // stamped 1,000: inside its window
    attempt(1_200, 1_300, 409, 4, 'front'), // row 1 was free: refused with room
    attempt(1_600, 1_650, 409, 1), // every seat taken: refused rightly
    attempt(1_900, 2_100, 409, 2), // taken until 2,000, inside the window: refused rightly
    attempt(2_100, 2_150, 409, 2), // row 0 free again: refused with room
    attempt(2_300, 2_400, 409, 3), // seats 0, 2, 3 free but not 3 together: with a free seat, without room
    attempt(1_600, 1_700, 201, 4, null, 'r2'), // stamped 1,500, before it was sent: the clocks disagree
  ];

  test('when the scope was full at some instant of a request, then its 409 is refused rightly', async () => {
    const judged = await judgeHolds(query, 'event', layout, 1_000, attempts);
    assert.equal(judged.reservations, 3);
    assert.equal(judged.requests, 7);
    assert.equal(judged.answered_201, 2);
    assert.equal(judged.answered_409, 5);
    assert.equal(judged.refused_scope_full, 2);
    assert.equal(judged.refused_with_seats_free, 3);
    assert.equal(judged.rate_with_seats_free, 0.6); // 3 of the 5 requests not refused rightly
    // Sent while more than a tenth of the 8 seats was free: not those sent at 1,600 and 1,900 (all taken).
    assert.deepEqual(judged.before_last_tenth, {
      requests: 4,
      refused_scope_full: 0,
      refused_with_seats_free: 3,
      rate: 0.75,
    });
  });

  test('when the scope had free seats but not as many together, then the 409 is without room', async () => {
    const judged = await judgeHolds(query, 'event', layout, 1_000, attempts);
    assert.equal(judged.refused_without_room, 3);
    assert.equal(judged.refused_with_room, 2);
    assert.equal(judged.rate_with_room, 0.5); // 2 of the 4 requests that had room
    assert.deepEqual(judged.refused_with_seats_free_by_detail, {
      'no N seats together are available': { refused: 3, with_room: 2 },
    });
  });

  test('when every seat was taken, then the sell-out and the scope are dated from the run start', async () => {
    const judged = await judgeHolds(query, 'event', layout, 1_000, attempts);
    assert.equal(judged.all_taken_s, 0.5);
    const front = judged.scopes.find((scope) => scope.scope === 'front')!;
    assert.deepEqual([front.seats, front.requests, front.refused_with_seats_free, front.first_full_s], [8, 1, 1, 0.5]);
    const any = judged.scopes.find((scope) => scope.scope === 'any')!;
    assert.deepEqual([any.requests, any.refused_scope_full, any.refused_with_seats_free], [6, 2, 2]);
  });

  test('when a 201 was stamped outside its request, then the clock check counts it', async () => {
    const judged = await judgeHolds(query, 'event', layout, 1_000, attempts);
    assert.deepEqual(judged.clock_check, { holds: 2, outside_window: 1, worst_ms: 99 });
  });
});

describe('the flash sale check of best-available holds', () => {
  test('when the store holds other seats than answered, then the hold is partial', async () => {
    const result = await checkBestHolds(query, 'event', [
      { reservationId: 'r1', count: 4, seatNos: [3, 2, 1, 0] },
      { reservationId: 'r3', count: 2, seatNos: [1, 2] },
      { reservationId: 'r9', count: 1, seatNos: [5] },
    ]);
    assert.equal(result.checked, 3);
    assert.equal(result.partial, 2);
    assert.match(result.problems[0]!, /^r3: stored seats 1, answered 1,2 for 2 asked/);
    assert.match(result.problems[1]!, /^r9: no reservation/);
  });

  test('when a 201 has fewer seats, seats apart or of another tier, then it is not as asked', () => {
    const venue = { sections: 3, rows: 2, seatsPerRow: 4 }; // sections front, middle, back of 8 seats
    assert.equal(notAsAsked([9, 10], { count: 2, tier: 'middle' }, venue), null);
    assert.match(notAsAsked([9], { count: 2, tier: null }, venue)!, /partial/);
    assert.match(notAsAsked([9, 11], { count: 2, tier: null }, venue)!, /not adjacent/);
    assert.match(notAsAsked([11, 12], { count: 2, tier: null }, venue)!, /not adjacent in one row/);
    assert.match(notAsAsked([17, 18], { count: 2, tier: 'front' }, venue)!, /not in tier front/);
  });

  test('when wishes are drawn, then counts are 1 to 6, mostly 2 and 4, and a quarter name no tier', () => {
    let state = 1;
    const random = () => ((state = (state * 48_271) % 2_147_483_647) - 1) / 2_147_483_646;
    const wishes = Array.from({ length: 20_000 }, () => bestWish(random, ['front', 'middle', 'back']));
    const countShare = (count: number) => wishes.filter((wish) => wish.count === count).length / wishes.length;
    assert.ok(wishes.every((wish) => wish.count >= 1 && wish.count <= 6));
    assert.ok(countShare(2) > 0.3 && countShare(4) > 0.25 && countShare(1) < 0.12);
    const tierShare = (tier: string | null) => wishes.filter((wish) => wish.tier === tier).length / wishes.length;
    assert.ok(Math.abs(tierShare(null) - 0.25) < 0.02);
    assert.ok(tierShare('front') > tierShare('middle') && tierShare('middle') > tierShare('back'));
  });
});
