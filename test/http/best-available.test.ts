// Best available (POST …/reservations {best_available}) and organizer holds (…/blocks),
// through the HTTP API: the server's choice (best row, middle, no stranded seat), its
// scopes (tier, section, accessible), 409 NOT_ENOUGH_SEATS changing nothing, and blocked
// seats refused by every path until released. With the gate (Redis Lua on the PostgreSQL
// pass, the in-process board on PGlite) and without it (HOLD_GATE=off: PostgreSQL's state).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readSeatStatus } from '../../src/domain/availability.ts';
import {
  auth,
  checkInvariants,
  createEvent,
  holdSeats,
  startTestApp,
  tableCounts,
  testDb,
  type TestApp,
} from '../support/harness.ts';
import { inflateRawSync } from 'node:zlib';

/** Stalls (rank 1): rows 1–2 of 10; Circle (rank 2): one row of 10 with wheelchair spaces 1–2 and a companion seat 3. */
const venue = {
  max_seats_per_user: 20,
  price_tiers: [
    { id: 'stalls', name: 'Stalls', price_cents: 9000, currency: 'USD' },
    { id: 'circle', name: 'Circle', price_cents: 5000, currency: 'USD' },
  ],
  seat_map: {
    sections: [
      {
        name: 'Circle',
        price_tier: 'circle',
        rank: 2,
        rows: [{ label: 'A', seats: 10, accessible: [1, 2], companion: [3] }],
      },
      {
        name: 'Stalls',
        price_tier: 'stalls',
        rank: 1,
        rows: [
          { label: '1', seats: 10 },
          { label: '2', seats: 10 },
        ],
      },
    ],
  },
};
// Seat numbers: Circle A 0–9, Stalls 1 10–19, Stalls 2 20–29.
const ids = (...seatNos: number[]) => seatNos.map((seatNo) => `s${seatNo}`);

async function best(t: TestApp, eventId: string, user: string, request: Record<string, unknown>) {
  return t.app.inject({
    method: 'POST',
    url: `/v1/events/${eventId}/reservations`,
    headers: auth(await t.token(user)),
    payload: { best_available: request },
  });
}

async function heldSeatIds(t: TestApp, eventId: string, user: string, request: Record<string, unknown>) {
  const response = await best(t, eventId, user, request);
  assert.equal(response.statusCode, 201, response.body);
  return (response.json().seats as { seat_id: string }[]).map((seat) => seat.seat_id).sort(bySeatNo);
}

const bySeatNo = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1));

async function statuses(t: TestApp, eventId: string): Promise<string[]> {
  const response = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/availability` });
  assert.equal(response.statusCode, 200, response.body);
  const body = response.json();
  const bits = new Uint8Array(inflateRawSync(Buffer.from(body.data, 'base64')));
  return Array.from({ length: body.seat_count }, (_, seatNo) => readSeatStatus(bits, seatNo));
}

for (const gate of ['on', 'off'] as const) {
  describe(`best available on ${testDb}, hold gate ${gate}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ env: { HOLD_GATE: gate } });
    });
    after(() => t.close());

    test('when buyers ask for seats together, then each gets the best row, nearest the middle, never stranding a seat', async () => {
      const eventId = await createEvent(t, venue);
      // Row 1 of the Stalls (rank 1) first, its middle: 4 seats of 10 are 13–16.
      assert.deepEqual(await heldSeatIds(t, eventId, 'b1', { count: 4 }), ids(13, 14, 15, 16));
      // 10–12 and 17–19 are left: any 2 of either strands a seat, so the nearest the middle: 11–12.
      assert.deepEqual(await heldSeatIds(t, eventId, 'b2', { count: 2 }), ids(11, 12));
      assert.deepEqual(await heldSeatIds(t, eventId, 'b3', { count: 3 }), ids(17, 18, 19));
      // Row 1 has seat 12 alone: 2 seats go to row 2's middle.
      assert.deepEqual(await heldSeatIds(t, eventId, 'b4', { count: 2 }), ids(24, 25));
      assert.deepEqual(await checkInvariants(t), []);
    });

    test('when a request names a tier or a section, then the seats come from it; an unknown one is 400', async () => {
      const eventId = await createEvent(t, venue);
      assert.deepEqual(await heldSeatIds(t, eventId, 'c1', { count: 2, price_tier: 'circle' }), ids(3, 4));
      assert.deepEqual(await heldSeatIds(t, eventId, 'c2', { count: 2, section: 'Circle' }), ids(5, 6));
      assert.deepEqual(await heldSeatIds(t, eventId, 'c2', { count: 2, price_tier: 'stalls' }), ids(14, 15));
      // The Circle's seats 1–3 (0–2) are for accessible requests: 3–9 are left, and 4–5
      // (the middle) would strand 3: 3–4 and 5–6 are as near the middle; the lower wins.
      for (const request of [
        { count: 1, price_tier: 'vip' },
        { count: 1, section: 'Balcony' },
        { count: 1, section: 'Circle', price_tier: 'stalls' },
      ]) {
        const refused = await best(t, eventId, 'c3', request);
        assert.equal(refused.statusCode, 400, refused.body);
        assert.equal(refused.json().code, 'VALIDATION_FAILED');
      }
    });

    test('when seats are accessible, then only an accessible request is offered them, and GET …/seats marks them', async () => {
      const eventId = await createEvent(t, venue);
      const list = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` });
      const seats = list.json().seats as { seat_id: string; accessible?: true; companion?: true }[];
      assert.deepEqual(
        seats.filter((seat) => seat.accessible).map((seat) => seat.seat_id),
        ids(0, 1),
      );
      assert.deepEqual(
        seats.filter((seat) => seat.companion).map((seat) => seat.seat_id),
        ids(2),
      );
      // Seats 0–2 are the accessible ones: 2 of 3 strand one whichever they are; 1–2 are nearer the middle.
      assert.deepEqual(await heldSeatIds(t, eventId, 'a1', { count: 2, accessible: true }), ids(1, 2));
      assert.deepEqual(await heldSeatIds(t, eventId, 'a2', { count: 1, accessible: true }), ids(0));
      const none = await best(t, eventId, 'a3', { count: 1, accessible: true });
      assert.equal(none.statusCode, 409, none.body);
      assert.equal(none.json().code, 'NOT_ENOUGH_SEATS');
      // The Circle's other 7 seats go to anyone, none of the accessible ones.
      assert.deepEqual(await heldSeatIds(t, eventId, 'a4', { count: 7, section: 'Circle' }), ids(3, 4, 5, 6, 7, 8, 9));
    });

    test('when no row has room together, then 409 NOT_ENOUGH_SEATS changes nothing; apart, the best seats one by one', async () => {
      const eventId = await createEvent(t, venue);
      // Leave seats 12 and 16 of row 1 of the Stalls free, apart, and take row 2.
      await holdSeats(t, eventId, 'd1', ids(10, 11, 13, 14, 15, 17, 18, 19));
      assert.deepEqual(
        await heldSeatIds(t, eventId, 'd4', { count: 10, section: 'Stalls' }),
        ids(20, 21, 22, 23, 24, 25, 26, 27, 28, 29),
      );
      const before = await tableCounts(t);
      const refused = await best(t, eventId, 'd5', { count: 2, section: 'Stalls' });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().code, 'NOT_ENOUGH_SEATS');
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      assert.deepEqual(await tableCounts(t), before);
      assert.deepEqual(
        await heldSeatIds(t, eventId, 'd5', { count: 2, section: 'Stalls', together: false }),
        ids(12, 16),
      );
      assert.deepEqual(await checkInvariants(t), []);
    });

    test('when a count is above the per-hold or per-buyer limit, then it is refused before anything is held', async () => {
      const eventId = await createEvent(t, { ...venue, max_seats_per_user: 4 });
      const tooMany = await best(t, eventId, 'e1', { count: t.config.SEATS_PER_HOLD_MAX + 1 });
      assert.equal(tooMany.statusCode, 400, tooMany.body);
      const overLimit = await best(t, eventId, 'e1', { count: 5 });
      assert.equal(overLimit.statusCode, 409, overLimit.body);
      assert.equal(overLimit.json().code, 'USER_SEAT_LIMIT_EXCEEDED');
      for (const payload of [
        { best_available: { count: 0 } },
        { best_available: {} },
        { best_available: { count: 2, extra: 1 } },
        { best_available: { count: 2 }, seat_ids: ['s1'] },
      ]) {
        const bad = await t.app.inject({
          method: 'POST',
          url: `/v1/events/${eventId}/reservations`,
          headers: auth(await t.token('e2')),
          payload,
        });
        assert.equal(bad.statusCode, 400, `${JSON.stringify(payload)}: ${bad.body}`);
      }
      assert.deepEqual(
        (await statuses(t, eventId)).filter((status) => status !== 'available'),
        [],
      );
    });

    if (gate === 'on') describe(`organizer holds on ${testDb}`, () => organizerHolds(() => t));
  });
}

/** Organizer holds; run on the gate-on pass's app (one app less to start). */
function organizerHolds(current: () => TestApp) {
  let t: TestApp;
  before(() => {
    t = current();
  });

  async function block(
    eventId: string,
    seatIds: string[],
    user = 'organizer-1',
    role: 'organizer' | 'customer' = 'organizer',
  ) {
    return t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/blocks`,
      headers: auth(await t.token(user, role)),
      payload: { seat_ids: seatIds, label: 'press' },
    });
  }

  test('when the organizer blocks seats, then they show blocked, no hold takes them, and a release puts them back', async () => {
    const eventId = await createEvent(t, venue);
    const blocked = await block(eventId, ids(14, 15));
    assert.equal(blocked.statusCode, 201, blocked.body);
    const { block_id: blockId, label, seat_ids: seatIds } = blocked.json();
    assert.equal(label, 'press');
    assert.deepEqual(seatIds, ids(14, 15));
    const map = await statuses(t, eventId);
    assert.deepEqual([map[14], map[15]], ['blocked', 'blocked']);
    const list = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` });
    assert.equal(list.json().seats[14].status, 'blocked');
    const detail = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` });
    assert.equal(detail.json().counts.blocked, 2);

    const explicit = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/reservations`,
      headers: auth(await t.token('buyer-1')),
      payload: { seat_ids: ids(15) },
    });
    assert.equal(explicit.statusCode, 409, explicit.body);
    assert.deepEqual(explicit.json().conflicting_seat_ids, ids(15));
    // Best available treats them as taken: 4 together in row 1 means 10–13 or 16–19.
    assert.deepEqual(await heldSeatIds(t, eventId, 'buyer-2', { count: 4, section: 'Stalls' }), ids(10, 11, 12, 13));

    const listed = await t.app.inject({
      method: 'GET',
      url: `/v1/events/${eventId}/blocks`,
      headers: auth(await t.token('organizer-1', 'organizer')),
    });
    assert.deepEqual(
      listed.json().blocks.map((b: { block_id: string }) => b.block_id),
      [blockId],
    );
    const stats = await t.app.inject({
      method: 'GET',
      url: `/v1/events/${eventId}/stats`,
      headers: auth(await t.token('organizer-1', 'organizer')),
    });
    assert.equal(stats.json().seats.blocked, 2);

    const released = await t.app.inject({
      method: 'DELETE',
      url: `/v1/events/${eventId}/blocks/${blockId}`,
      headers: auth(await t.token('organizer-1', 'organizer')),
    });
    assert.equal(released.statusCode, 204, released.body);
    const after = await statuses(t, eventId);
    assert.deepEqual([after[14], after[15]], ['available', 'available']);
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/v1/events/${eventId}/blocks/${blockId}`,
      headers: auth(await t.token('organizer-1', 'organizer')),
    });
    assert.equal(again.statusCode, 404, again.body);
    assert.equal(again.json().code, 'BLOCK_NOT_FOUND');
    const held = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/reservations`,
      headers: auth(await t.token('buyer-1')),
      payload: { seat_ids: ids(15) },
    });
    assert.equal(held.statusCode, 201, held.body);
    assert.deepEqual(await checkInvariants(t), []);
  });

  test('when a seat is held or blocked already, or the caller is not the organizer, then nothing is blocked', async () => {
    const eventId = await createEvent(t, venue);
    await heldSeatIds(t, eventId, 'buyer-3', { count: 1, section: 'Stalls' }); // 14
    const before = await tableCounts(t);
    const taken = await block(eventId, ids(13, 14));
    assert.equal(taken.statusCode, 409, taken.body);
    assert.deepEqual(taken.json().conflicting_seat_ids, ids(14));
    const stranger = await block(eventId, ids(20), 'organizer-2');
    assert.equal(stranger.statusCode, 403, stranger.body);
    const buyer = await block(eventId, ids(20), 'buyer-3', 'customer');
    assert.equal(buyer.statusCode, 403, buyer.body);
    const unknown = await block(eventId, ['s999']);
    assert.equal(unknown.statusCode, 400, unknown.body);
    const organizer = auth(await t.token('organizer-1', 'organizer'));
    for (const payload of [
      {},
      { seat_ids: ids(20) },
      { seat_ids: [], label: 'press' },
      { seat_ids: ids(20, 20), label: 'press' },
      { seat_ids: ids(20), label: '' },
      { seat_ids: ids(20), label: 'x'.repeat(101) },
      { seat_ids: ids(20), label: 'press', extra: true },
      { seat_ids: 's20', label: 'press' },
    ]) {
      const bad = await t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/blocks`,
        headers: organizer,
        payload,
      });
      assert.equal(bad.statusCode, 400, `${JSON.stringify(payload)}: ${bad.body}`);
      assert.match(String(bad.headers['content-type']), /^application\/problem\+json/);
    }
    const badId = await t.app.inject({
      method: 'DELETE',
      url: `/v1/events/${eventId}/blocks/not-a-uuid`,
      headers: auth(await t.token('organizer-1', 'organizer')),
    });
    assert.equal(badId.statusCode, 404, badId.body);
    assert.deepEqual(await tableCounts(t), before);
    assert.equal((await statuses(t, eventId))[13], 'available');
  });

  test('when the seat map is replaced before the sale, then its blocks end with it', async () => {
    const eventId = await createEvent(t, { ...venue, sale_opens_at: new Date(Date.now() + 3_600_000).toISOString() });
    const organizer = auth(await t.token('organizer-1', 'organizer'));
    assert.equal((await block(eventId, ids(1, 2))).statusCode, 201);
    const replaced = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${eventId}`,
      headers: organizer,
      payload: {
        price_tiers: venue.price_tiers,
        seat_map: { sections: [{ name: 'Floor', price_tier: 'stalls', rows: [{ label: '1', seats: 6 }] }] },
      },
    });
    assert.equal(replaced.statusCode, 200, replaced.body);
    const listed = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/blocks`, headers: organizer });
    assert.deepEqual(listed.json().blocks, []);
    assert.deepEqual(await statuses(t, eventId), Array(6).fill('available'));
  });
}
