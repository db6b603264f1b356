// GET /v1/events/{id}/seats, the full list (app/seat-maps.ts SeatListCache): refused above
// SEAT_LIST_SEATS_MAX seats with a pointer to the availability document, built at most once
// per SEAT_LIST_MAX_AGE_MS per event and shared by every request in that time, and
// rate-limited per client address in a bucket of its own. The clock is a ManualClock: the
// list ages and the bucket refills only when a test moves it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { auth, createEvent, startTestApp, testDb, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');

/** An event of `seats` seats in one row. */
const withSeats = (seats: number) => ({
  seat_map: { sections: [{ name: 'A', price_tier: 'front', rows: [{ label: '1', seats }] }] },
});

async function withApp(env: Record<string, string>, run: (t: TestApp, clock: ManualClock) => Promise<void>) {
  const clock = new ManualClock(startMs);
  const t = await startTestApp({ clock, env });
  try {
    await run(t, clock);
  } finally {
    await t.close();
  }
}

describe(`the full seat list on ${testDb}`, () => {
  test('when an event has more seats than SEAT_LIST_SEATS_MAX, then GET …/seats is 409 SEAT_LIST_TOO_LARGE naming the availability document, which answers', async () => {
    await withApp({ SEAT_LIST_SEATS_MAX: '30' }, async (t) => {
      const large = await createEvent(t, withSeats(31), startMs);
      const small = await createEvent(t, withSeats(30), startMs);
      for (const headers of [{}, { 'if-none-match': '"c0.0.0"' }]) {
        const refused = await t.app.inject({ method: 'GET', url: `/v1/events/${large}/seats`, headers });
        assert.equal(refused.statusCode, 409, refused.body);
        assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
        const problem = refused.json();
        assert.equal(problem.code, 'SEAT_LIST_TOO_LARGE');
        assert.equal(problem.status, 409);
        assert.equal(problem.seat_count, 31);
        assert.equal(problem.seat_list_seats_max, 30);
        assert.equal(problem.availability_url, `/v1/events/${large}/availability`);
        assert.equal(problem.event_url, `/v1/events/${large}`);
        const availability = await t.app.inject({ method: 'GET', url: problem.availability_url });
        assert.equal(availability.statusCode, 200, availability.body);
        assert.equal(availability.json().seat_count, 31);
      }
      const listed = await t.app.inject({ method: 'GET', url: `/v1/events/${small}/seats` });
      assert.equal(listed.statusCode, 200, listed.body);
      assert.equal(listed.json().seats.length, 30);

      // The OpenAPI document says so.
      const openapi = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const conflict = openapi.paths['/v1/events/{event_id}/seats'].get.responses['409'];
      assert.ok(conflict, 'a 409 answer is documented');
      assert.ok(
        JSON.stringify(conflict).includes('availability_url'),
        'with the availability URL: ' + JSON.stringify(conflict),
      );
    });
  });

  test('when seats change within SEAT_LIST_MAX_AGE_MS, then the list is built once and shared by every request meanwhile; after it, one new build serves them all', async () => {
    await withApp({ SEAT_LIST_MAX_AGE_MS: '1000' }, async (t, clock) => {
      const eventId = await createEvent(t, withSeats(20), startMs);
      const board = t.runtime.deps.board;
      const availability = board.availability;
      let builds = 0;
      board.availability = (...args: Parameters<typeof availability>) => {
        builds += 1;
        return availability.apply(board, args);
      };
      try {
        const read = () => t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` });
        const first = await read();
        assert.equal(first.statusCode, 200, first.body);
        assert.equal(builds, 1);
        const held = await t.app.inject({
          method: 'POST',
          url: `/v1/events/${eventId}/reservations`,
          headers: auth(await t.token('buyer')),
          payload: { seat_ids: ['s1'] },
        });
        assert.equal(held.statusCode, 201, held.body);

        const meanwhile = await Promise.all(Array.from({ length: 20 }, read));
        for (const answer of meanwhile) {
          assert.equal(answer.statusCode, 200);
          assert.equal(answer.body, first.body, 'the list built before the change, shared');
          assert.equal(answer.headers.etag, first.headers.etag, 'with its own ETag');
        }
        assert.equal(builds, 1, 'no build within the interval, however many readers');

        clock.advance(1_000);
        const later = await Promise.all(Array.from({ length: 20 }, read));
        const statuses = new Set(later.map((answer) => answer.json().seats[1].status));
        assert.deepEqual([...statuses], ['held'], 'the change shows once the interval is over');
        assert.equal(new Set(later.map((answer) => answer.headers.etag)).size, 1, 'one list for all');
        assert.notEqual(later[0]!.headers.etag, first.headers.etag);
        assert.equal(builds, 2, 'one build for the twenty readers after the interval');
        const notModified = await t.app.inject({
          method: 'GET',
          url: `/v1/events/${eventId}/seats`,
          headers: { 'if-none-match': String(later[0]!.headers.etag) },
        });
        assert.equal(notModified.statusCode, 304);
      } finally {
        board.availability = availability;
      }
    });
  });

  test('when one address asks for the seat list more than its burst, then 429 RATE_LIMITED; other addresses and the availability document are unaffected', async () => {
    const burst = 3;
    const env = { RATE_LIMITS: 'on', RATE_LIMIT_SEAT_LIST_PER_SECOND: '1', RATE_LIMIT_SEAT_LIST_BURST: String(burst) };
    await withApp(env, async (t, clock) => {
      const eventId = await createEvent(t, withSeats(20), startMs);
      const read = (path: string, remoteAddress: string) =>
        t.app.inject({ method: 'GET', url: `/v1/events/${eventId}${path}`, remoteAddress });
      for (let index = 0; index < burst; index += 1) assert.equal((await read('/seats', '10.0.0.1')).statusCode, 200);
      const refused = await read('/seats', '10.0.0.1');
      assert.equal(refused.statusCode, 429, refused.body);
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      assert.equal(refused.json().code, 'RATE_LIMITED');
      assert.equal(refused.json().limit, 'address');
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal((await read('/seats', '10.0.0.2')).statusCode, 200, 'another address has its own bucket');
      assert.equal((await read('/availability', '10.0.0.1')).statusCode, 200, 'the compact document is not limited');
      assert.equal((await read('', '10.0.0.1')).statusCode, 200, 'nor the event');
      clock.advance(1_000);
      assert.equal((await read('/seats', '10.0.0.1')).statusCode, 200, 'a token a second');
      assert.equal((await read('/seats', '10.0.0.1')).statusCode, 429);
    });
  });
});
