// Group commit against the real database (PGlite and PostgreSQL): requests that arrive
// together are written as one batch statement, and each still gets the answer it would
// have got alone. A refusal in a batch (a seat another request of the batch took, a user
// over the cap, a hold that ended) never fails the others; an error (a seat already booked:
// invariant 1's backstop) makes the batch run each request alone, and only that one fails.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PostgresBookingStore } from '../../src/adapters/postgres/booking-store.ts';
import type { PostgresReservationStore } from '../../src/adapters/postgres/reservation-store.ts';
import { auth, checkInvariants, createEvent, startTestApp, type TestApp } from '../support/harness.ts';

describe('write batches', () => {
  let t: TestApp;

  before(async () => {
    // A wide window so requests sent together share a batch; no gate, so PostgreSQL
    // decides every conflict itself.
    t = await startTestApp({ env: { WRITE_BATCH_WINDOW_MS: '50', WRITE_BATCH_MAX: '64', HOLD_GATE: 'off' } });
  });
  after(() => t.close());

  const holdStats = () => (t.runtime.deps.reservations as PostgresReservationStore).batchStats().holds;
  const bookingStats = () => (t.runtime.deps.bookings as PostgresBookingStore).batchStats();

  const hold = async (eventId: string, user: string, seatIds: string[]) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/reservations`,
      headers: auth(await t.token(user)),
      payload: { seat_ids: seatIds },
    });
  const confirm = async (user: string, reservationId: string, key: string) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${reservationId}/confirm`,
      headers: { ...auth(await t.token(user)), 'idempotency-key': key },
      payload: { payment_method: 'pm_card_visa' },
    });

  test('when holds arrive together, then they share one batch and each gets its own answer: conflicts and the cap refuse only their own', async () => {
    const eventId = await createEvent(t, { max_seats_per_user: 3 });
    const before = { ...holdStats() };
    const tokens = await Promise.all(['a', 'b', 'c', 'd', 'greedy'].map((user) => t.token(user)));
    assert.equal(tokens.length, 5);
    const answers = await Promise.all([
      hold(eventId, 'a', ['s0', 's1']),
      hold(eventId, 'b', ['s1', 's2']), // s1 is a's if a runs first, else b gets s1 and a conflicts
      hold(eventId, 'c', ['s3']),
      hold(eventId, 'greedy', ['s4', 's5']),
      hold(eventId, 'greedy', ['s6', 's7']), // over greedy's cap of 3 whichever runs second
      hold(eventId, 'd', ['s8', 's9', 's10']),
    ]);
    const after = holdStats();
    assert.ok(
      after.batches - before.batches < 6,
      `some holds shared a batch (${after.batches - before.batches} batches)`,
    );
    const statuses = answers.map((answer) => answer.statusCode);
    assert.equal(statuses[2], 201, answers[2]!.body);
    assert.equal(statuses[5], 201, answers[5]!.body);
    assert.deepEqual([statuses[0], statuses[1]].sort(), [201, 409], 'a and b: one gets s1');
    const loser = statuses[0] === 409 ? answers[0]! : answers[1]!;
    assert.equal(loser.json().code, 'SEAT_UNAVAILABLE');
    assert.deepEqual(loser.json().conflicting_seat_ids, ['s1']);
    assert.deepEqual([statuses[3], statuses[4]].sort(), [201, 409], 'greedy: one hold over the cap');
    const capped = statuses[3] === 409 ? answers[3]! : answers[4]!;
    assert.equal(capped.json().code, 'USER_SEAT_LIMIT_EXCEEDED', capped.body);
    assert.deepEqual(await checkInvariants(t), []);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const published = Number(/^write_batch_holds_requests_total (\d+)$/m.exec(metrics)?.[1]);
    assert.equal(published, after.requests, 'the batches are published at /metrics');
  });

  test('when confirmations arrive together, then they share batches, each books its own seats, and an ended hold is refused alone', async () => {
    const eventId = await createEvent(t);
    const held = await Promise.all(
      Array.from({ length: 6 }, async (_, index) => {
        const answer = await hold(eventId, `buyer-${index}`, [`s${index}`]);
        assert.equal(answer.statusCode, 201, answer.body);
        return answer.json().reservation_id as string;
      }),
    );
    // One hold is cancelled first: its confirmation is refused inside the batch.
    const cancelled = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${held[5]}`,
      headers: auth(await t.token('buyer-5')),
    });
    assert.equal(cancelled.statusCode, 204);
    const before = bookingStats();
    const beforeBegins = before.begins.batches;
    const beforeConfirms = before.confirms.batches;
    const answers = await Promise.all(held.map((id, index) => confirm(`buyer-${index}`, id, `key-${index}`)));
    for (const answer of answers.slice(0, 5)) assert.equal(answer.statusCode, 201, answer.body);
    assert.equal(answers[5]!.statusCode, 409, answers[5]!.body);
    assert.equal(answers[5]!.json().code, 'RESERVATION_CANCELLED');
    const after = bookingStats();
    assert.ok(after.begins.batches - beforeBegins < 6, 'the begin steps shared a batch');
    assert.ok(after.confirms.batches - beforeConfirms < 5, 'the booking steps shared a batch');
    const { rows } = await t.runtime.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM bookings WHERE event_id = $1',
      [eventId],
    );
    assert.equal(rows[0]!.n, 5);
    // Replays answer from the stored keys.
    const replay = await confirm('buyer-0', held[0]!, 'key-0');
    assert.equal(replay.statusCode, 201);
    assert.equal(replay.json().booking_id, answers[0]!.json().booking_id);
    assert.deepEqual(await checkInvariants(t), []);
  });

  test('when one booking in a batch hits a seat already booked, then only it fails (409, refunded) and the rest book', async () => {
    const eventId = await createEvent(t);
    const held = await Promise.all(
      Array.from({ length: 4 }, async (_, index) => {
        const answer = await hold(eventId, `backstop-${index}`, [`s${index}`]);
        assert.equal(answer.statusCode, 201, answer.body);
        return answer.json().reservation_id as string;
      }),
    );
    // A corrupt row the rules never make: s2 already in booked_seats under another booking
    // (of another reservation). Only booked_seats' primary key (invariant 1's backstop) sees it.
    const other = await hold(eventId, 'someone-else', ['s10']);
    assert.equal(other.statusCode, 201, other.body);
    await t.runtime.db.query(
      `WITH b AS (
         INSERT INTO bookings (id, reservation_id, event_id, user_id, seat_nos, total_cents, currency, charge_id, created_at)
         VALUES (gen_random_uuid(), $2, $1, 'someone-else', '{2}', 0, 'USD', 'ch_other', now()) RETURNING id)
       INSERT INTO booked_seats (event_id, seat_no, booking_id) SELECT $1, 2, id FROM b`,
      [eventId, other.json().reservation_id],
    );
    const fallbacksBefore = bookingStats().confirms.fallbacks;
    const answers = await Promise.all(held.map((id, index) => confirm(`backstop-${index}`, id, `backstop-${index}`)));
    assert.equal(answers[2]!.statusCode, 409, answers[2]!.body);
    assert.equal(answers[2]!.json().code, 'SEAT_UNAVAILABLE');
    assert.equal(answers[2]!.json().refunded, true);
    for (const index of [0, 1, 3]) assert.equal(answers[index]!.statusCode, 201, answers[index]!.body);
    assert.equal(bookingStats().confirms.fallbacks, fallbacksBefore + 1, 'the batch ran each request alone');
  });
});
