// The HTTP contract of DESIGN.md: the whole buying flow, then every failure row.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { auth, createEvent, eventBody, startTestApp, testDb, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');

describe('booking flow over HTTP', () => {
  let t: TestApp;
  let clock: ManualClock;
  let eventId: string;
  let alice: string;
  let bob: string;

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({ clock, env: { HOLD_TTL_SECONDS: '600', SEATS_PER_HOLD_MAX: '6' } });
    eventId = await createEvent(t, {}, startMs);
    alice = await t.token('alice');
    bob = await t.token('bob');
  });
  after(() => t.close());

  const hold = (token: string, seatIds: string[], event = eventId) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/events/${event}/reservations`,
      headers: auth(token),
      payload: { seat_ids: seatIds },
    });
  const confirm = (token: string, reservationId: string, key: string | undefined, paymentMethod = 'pm_card_visa') =>
    t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${reservationId}/confirm`,
      headers: { ...auth(token), ...(key ? { 'idempotency-key': key } : {}) },
      payload: { payment_method: paymentMethod },
    });
  const seatStatuses = async () => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` });
    return new Map<string, string>(
      response.json().seats.map((seat: { seat_id: string; status: string }) => [seat.seat_id, seat.status]),
    );
  };

  test('when a buyer holds, pays and looks, then seats go held → booked and the booking is theirs', async () => {
    const event = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` });
    assert.equal(event.statusCode, 200);
    assert.deepEqual(event.json().counts, { available: 40, held: 0, booked: 0, blocked: 0 });
    assert.equal(event.json().venue.city, 'Berlin');

    const seats = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` });
    assert.equal(seats.statusCode, 200);
    const body = seats.json();
    assert.equal(body.seats.length, 40);
    assert.deepEqual(body.seats[0], {
      seat_id: body.seats[0].seat_id,
      section: 'A',
      row: '1',
      number: 1,
      price_cents: 10000,
      status: 'available',
    });
    const [first, second] = [body.seats[0].seat_id, body.seats[1].seat_id];

    const held = await hold(alice, [second, first]);
    assert.equal(held.statusCode, 201, held.body);
    const reservation = held.json();
    assert.equal(reservation.status, 'active');
    assert.equal(reservation.total_cents, 20000);
    assert.equal(reservation.expires_at, new Date(startMs + 600_000).toISOString());
    assert.equal(reservation.seats.length, 2);
    assert.equal((await seatStatuses()).get(first), 'held');

    const mine = await t.app.inject({
      method: 'GET',
      url: `/v1/reservations/${reservation.reservation_id}`,
      headers: auth(alice),
    });
    assert.equal(mine.statusCode, 200);
    assert.equal(mine.json().reservation_id, reservation.reservation_id);

    const confirmed = await confirm(alice, reservation.reservation_id, 'flow-key-1');
    assert.equal(confirmed.statusCode, 201, confirmed.body);
    const booking = confirmed.json();
    assert.equal(booking.status, 'confirmed');
    assert.equal(booking.reservation_id, reservation.reservation_id);
    assert.equal(booking.total_cents, 20000);
    assert.equal((await seatStatuses()).get(first), 'booked');

    const fetched = await t.app.inject({
      method: 'GET',
      url: `/v1/bookings/${booking.booking_id}`,
      headers: auth(alice),
    });
    assert.equal(fetched.statusCode, 200);
    assert.deepEqual(fetched.json(), booking);
    const list = await t.app.inject({ method: 'GET', url: '/v1/me/bookings', headers: auth(alice) });
    assert.deepEqual(
      list.json().bookings.map((b: { booking_id: string }) => b.booking_id),
      [booking.booking_id],
    );
    const after = await t.app.inject({
      method: 'GET',
      url: `/v1/reservations/${reservation.reservation_id}`,
      headers: auth(alice),
    });
    assert.equal(after.json().status, 'confirmed');
    assert.equal(after.json().booking_id, booking.booking_id);

    const counts = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` })).json().counts;
    assert.deepEqual(counts, { available: 38, held: 0, booked: 2, blocked: 0 });
  });

  test('when someone else asks for your reservation or booking, then it does not exist for them', async () => {
    const held = (await hold(alice, ['s10'])).json();
    for (const request of [
      { method: 'GET' as const, url: `/v1/reservations/${held.reservation_id}` },
      { method: 'DELETE' as const, url: `/v1/reservations/${held.reservation_id}` },
    ]) {
      const response = await t.app.inject({ ...request, headers: auth(bob) });
      assert.equal(response.statusCode, 404);
      assert.equal(response.json().code, 'RESERVATION_NOT_FOUND');
    }
    const other = await confirm(bob, held.reservation_id, 'bob-key');
    assert.equal(other.statusCode, 404);
    const booking = (await confirm(alice, held.reservation_id, 'alice-s10')).json();
    const peek = await t.app.inject({ method: 'GET', url: `/v1/bookings/${booking.booking_id}`, headers: auth(bob) });
    assert.equal(peek.statusCode, 404);
    assert.equal(peek.json().code, 'BOOKING_NOT_FOUND');
  });

  test('when a seat is taken, then a hold of it and others gets 409 naming it and holds nothing', async () => {
    assert.equal((await hold(alice, ['s20'])).statusCode, 201);
    const response = await hold(bob, ['s21', 's20', 's22']);
    assert.equal(response.statusCode, 409);
    assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    const problem = response.json();
    assert.equal(problem.code, 'SEAT_UNAVAILABLE');
    assert.equal(problem.status, 409);
    assert.deepEqual(problem.conflicting_seat_ids, ['s20']);
    const statuses = await seatStatuses();
    assert.equal(statuses.get('s21'), 'available');
    assert.equal(statuses.get('s22'), 'available');
  });

  test('when seat ids are unknown, duplicated or too many, then 400 names them', async () => {
    const unknown = await hold(bob, ['s23', 'nope', 's999999']);
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().code, 'UNKNOWN_SEATS');
    assert.deepEqual(unknown.json().unknown_seat_ids, ['nope', 's999999']);
    const duplicate = await hold(bob, ['s23', 's24', 's23']);
    assert.equal(duplicate.statusCode, 400);
    assert.equal(duplicate.json().code, 'DUPLICATE_SEATS');
    assert.deepEqual(duplicate.json().duplicate_seat_ids, ['s23']);
    const tooMany = await hold(bob, ['s23', 's24', 's25', 's26', 's27', 's28', 's29']);
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.json().code, 'TOO_MANY_SEATS');
    assert.equal((await seatStatuses()).get('s23'), 'available');
  });

  test('when a buyer would pass max_seats_per_user counting held and booked seats, then 409', async () => {
    const carol = await t.token('carol');
    assert.equal((await hold(carol, ['s30', 's31', 's32', 's33', 's34'])).statusCode, 201);
    const over = await hold(carol, ['s35', 's36', 's37', 's38']);
    assert.equal(over.statusCode, 409);
    assert.equal(over.json().code, 'USER_SEAT_LIMIT_EXCEEDED');
    assert.equal(over.json().seats_held_or_booked, 5);
    assert.equal((await hold(carol, ['s35', 's36', 's37'])).statusCode, 201);
  });

  test('when the sale has not opened, then 409 SALE_NOT_OPEN', async () => {
    const later = await createEvent(t, { sale_opens_at: new Date(startMs + 3_600_000).toISOString() }, startMs);
    const response = await hold(alice, ['s0'], later);
    assert.equal(response.statusCode, 409);
    assert.equal(response.json().code, 'SALE_NOT_OPEN');
  });

  test('when the card is declined, then 402 and the hold is kept for another try', async () => {
    const held = (await hold(bob, ['s11', 's12'])).json();
    const declined = await confirm(bob, held.reservation_id, 'decline-1', 'pm_card_chargeDeclined');
    assert.equal(declined.statusCode, 402);
    assert.equal(declined.json().code, 'PAYMENT_DECLINED');
    assert.equal((await seatStatuses()).get('s11'), 'held');
    const again = await confirm(bob, held.reservation_id, 'decline-1', 'pm_card_chargeDeclined');
    assert.equal(again.statusCode, 402, 'same key, same body: the same stored answer');
    const paid = await confirm(bob, held.reservation_id, 'decline-2');
    assert.equal(paid.statusCode, 201);
  });

  test('when the Idempotency-Key is missing, reused with another body or replayed, then 400, 422, same answer', async () => {
    const held = (await hold(bob, ['s13'])).json();
    const missing = await confirm(bob, held.reservation_id, undefined);
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().code, 'IDEMPOTENCY_KEY_REQUIRED');
    const first = await confirm(bob, held.reservation_id, 'replay-key');
    assert.equal(first.statusCode, 201);
    const replay = await confirm(bob, held.reservation_id, 'replay-key');
    assert.equal(replay.statusCode, 201);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.deepEqual(replay.json(), first.json());
    const reused = await confirm(bob, held.reservation_id, 'replay-key', 'pm_card_chargeDeclined');
    assert.equal(reused.statusCode, 422);
    assert.equal(reused.json().code, 'IDEMPOTENCY_KEY_REUSED');
    const again = await confirm(bob, held.reservation_id, 'another-key');
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'RESERVATION_ALREADY_CONFIRMED');
    assert.deepEqual(t.payments.chargesDescribing(held.reservation_id), { charged: 1, refunded: 0 });
  });

  test('when a hold is cancelled, then its seats are available at once and confirm answers 409', async () => {
    const held = (await hold(alice, ['s14', 's15'])).json();
    const cancelled = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${held.reservation_id}`,
      headers: auth(alice),
    });
    assert.equal(cancelled.statusCode, 204);
    assert.equal((await seatStatuses()).get('s14'), 'available');
    const late = await confirm(alice, held.reservation_id, 'cancelled-key');
    assert.equal(late.statusCode, 409);
    assert.equal(late.json().code, 'RESERVATION_CANCELLED');
    assert.equal((await hold(bob, ['s14'])).statusCode, 201);
  });

  test('when a confirmed reservation is cancelled, then 409', async () => {
    const held = (await hold(alice, ['s16'])).json();
    assert.equal((await confirm(alice, held.reservation_id, 'k-s16')).statusCode, 201);
    const response = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${held.reservation_id}`,
      headers: auth(alice),
    });
    assert.equal(response.statusCode, 409);
    assert.equal(response.json().code, 'RESERVATION_ALREADY_CONFIRMED');
  });

  test('when the hold expires, then the seat is available at expires_at exactly and confirm is 410', async () => {
    const held = (await hold(bob, ['s17'])).json();
    clock.advance(600_000 - 1);
    assert.equal((await seatStatuses()).get('s17'), 'held');
    clock.advance(1);
    assert.equal((await seatStatuses()).get('s17'), 'available');
    const view = await t.app.inject({
      method: 'GET',
      url: `/v1/reservations/${held.reservation_id}`,
      headers: auth(bob),
    });
    assert.equal(view.json().status, 'expired');
    const late = await confirm(bob, held.reservation_id, 'late-key');
    assert.equal(late.statusCode, 410);
    assert.equal(late.json().code, 'RESERVATION_EXPIRED');
  });

  test('when an expired but unswept hold is cancelled, then it stays expired and confirm is 410 (model seed 152414694)', async () => {
    const held = (await hold(alice, ['s18'])).json();
    clock.advance(600_000);
    const cancelled = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${held.reservation_id}`,
      headers: auth(alice),
    });
    assert.equal(cancelled.statusCode, 204);
    const view = await t.app.inject({
      method: 'GET',
      url: `/v1/reservations/${held.reservation_id}`,
      headers: auth(alice),
    });
    assert.equal(view.json().status, 'expired');
    const late = await confirm(alice, held.reservation_id, 'expired-cancel-key');
    assert.equal(late.statusCode, 410);
  });

  test('when a buyer has several bookings, then /v1/me/bookings lists each with its own seats, newest first', async () => {
    const dora = await t.token('dora');
    const other = await createEvent(t, {}, startMs);
    const bought: string[][] = [];
    for (const [event, seatIds] of [
      [eventId, ['s25', 's26']],
      [other, ['s1']],
      [eventId, ['s27']],
    ] as const) {
      const held = await hold(dora, [...seatIds], event);
      assert.equal(held.statusCode, 201, held.body);
      clock.advance(1);
      assert.equal((await confirm(dora, held.json().reservation_id, `dora-${bought.length}`)).statusCode, 201);
      bought.push([...seatIds]);
    }
    const list = (await t.app.inject({ method: 'GET', url: '/v1/me/bookings', headers: auth(dora) })).json().bookings;
    assert.deepEqual(
      list.map((booking: { seats: { seat_id: string }[] }) => booking.seats.map((seat) => seat.seat_id)),
      [...bought].reverse(),
    );
    assert.equal(list[1].event_id, other);
  });

  test('when unauthenticated or a customer creates an event, then 401 / 403', async () => {
    const anonymous = await t.app.inject({ method: 'POST', url: '/v1/events', payload: eventBody() });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().code, 'UNAUTHENTICATED');
    const customer = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(alice),
      payload: eventBody(),
    });
    assert.equal(customer.statusCode, 403);
    assert.equal(customer.json().code, 'FORBIDDEN');
    const forged = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/reservations`,
      headers: auth('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad'),
      payload: { seat_ids: ['s1'] },
    });
    assert.equal(forged.statusCode, 401);
    const noToken = await t.app.inject({ method: 'GET', url: '/v1/me/bookings' });
    assert.equal(noToken.statusCode, 401);
  });

  test('when events or ids are unknown, then 404 problem documents', async () => {
    for (const url of [
      '/v1/events/00000000-0000-0000-0000-000000000000',
      '/v1/events/not-a-uuid',
      '/v1/events/not-a-uuid/seats',
      '/v1/nothing',
    ]) {
      const response = await t.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    }
    const hold404 = await hold(alice, ['s1'], '00000000-0000-0000-0000-000000000000');
    assert.equal(hold404.json().code, 'EVENT_NOT_FOUND');
    const reservation404 = await t.app.inject({ method: 'GET', url: '/v1/reservations/xyz', headers: auth(alice) });
    assert.equal(reservation404.statusCode, 404);
  });

  test('when the seat map is invalid, then 400 lists every problem with its field path', async () => {
    const token = await t.token('org', 'organizer');
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(token),
      payload: eventBody({
        seat_map: {
          sections: [
            {
              name: 'A',
              price_tier: 'gold',
              rows: [
                { label: '1', seats: 5 },
                { label: '1', seats: 5 },
              ],
            },
            { name: 'A', price_tier: 'front', rows: [{ label: '1', seats: 5 }] },
          ],
        },
      }),
    });
    assert.equal(response.statusCode, 400);
    const problem = response.json();
    assert.equal(problem.code, 'INVALID_SEAT_MAP');
    const paths = problem.errors.map((error: { path: string }) => error.path);
    assert.deepEqual(
      paths.sort(),
      ['/seat_map/sections/0/price_tier', '/seat_map/sections/0/rows/1/label', '/seat_map/sections/1/name'].sort(),
    );
    for (const [sections, path] of [
      [[], '/seat_map/sections'],
      [[{ name: 'A', price_tier: 'front', rows: [] }], '/seat_map/sections/0/rows'],
      [[{ name: 'A', price_tier: 'front', rows: [{ label: '1', seats: 0 }] }], '/seat_map/sections/0/rows/0/seats'],
      [[{ name: 'A', price_tier: 'front', rows: [{ label: '1', seats: -3 }] }], '/seat_map/sections/0/rows/0/seats'],
    ] as const) {
      const bad = await t.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: auth(token),
        payload: eventBody({ seat_map: { sections } }),
      });
      assert.equal(bad.statusCode, 400, JSON.stringify(sections));
      assert.ok(
        bad.json().errors.some((error: { path: string }) => error.path === path),
        bad.body,
      );
    }
  });

  test('when a map exceeds the configured maxima, then 400', async () => {
    const small = await startTestApp({
      env: { SEATS_PER_EVENT_MAX: '50', SECTIONS_PER_EVENT_MAX: '2', ROWS_PER_SECTION_MAX: '3' },
    });
    try {
      const token = await small.token('org', 'organizer');
      const tooMany = await small.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: auth(token),
        payload: eventBody({
          seat_map: { sections: [{ name: 'A', price_tier: 'front', rows: [{ label: '1', seats: 51 }] }] },
        }),
      });
      assert.equal(tooMany.statusCode, 400);
      assert.match(tooMany.json().detail, /at most 50 seats per event/);
      const rows = Array.from({ length: 4 }, (_, index) => ({ label: String(index), seats: 1 }));
      const tooManyRows = await small.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: auth(token),
        payload: eventBody({ seat_map: { sections: [{ name: 'A', price_tier: 'front', rows }] } }),
      });
      assert.equal(tooManyRows.statusCode, 400);
      assert.match(tooManyRows.json().detail, /at most 3 rows/);
      const sections = ['A', 'B', 'C'].map((name) => ({ name, price_tier: 'front', rows: [{ label: '1', seats: 1 }] }));
      const tooManySections = await small.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: auth(token),
        payload: eventBody({ seat_map: { sections } }),
      });
      assert.equal(tooManySections.statusCode, 400);
      assert.match(tooManySections.json().detail, /at most 2 sections/);
    } finally {
      await small.close();
    }
  });
});

describe('browsing events', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
    const base = Date.parse('2027-03-01T19:00:00Z');
    for (let index = 0; index < 7; index += 1) {
      await createEvent(t, {
        name: `Show ${index}`,
        category: index % 2 ? 'theatre' : 'concert',
        starts_at: new Date(base + index * 86_400_000).toISOString(),
        sale_opens_at: new Date(base - 86_400_000).toISOString(),
        venue: { name: 'Hall', city: index < 4 ? 'Berlin' : 'Paris' },
      });
    }
  });
  after(() => t.close());

  test('when paging with a cursor, then every event comes once in start order', async () => {
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const page = await t.app.inject({ method: 'GET', url: `/v1/events${query}` });
      assert.equal(page.statusCode, 200, page.body);
      names.push(...page.json().events.map((event: { name: string }) => event.name));
      cursor = page.json().next_cursor;
    } while (cursor);
    assert.deepEqual(names, ['Show 0', 'Show 1', 'Show 2', 'Show 3', 'Show 4', 'Show 5', 'Show 6']);
  });

  test('when filtering by city, category, dates and text, then only matches come back', async () => {
    const get = async (query: string) =>
      (await t.app.inject({ method: 'GET', url: `/v1/events?${query}` }))
        .json()
        .events.map((event: { name: string }) => event.name);
    assert.deepEqual(await get('city=paris'), ['Show 4', 'Show 5', 'Show 6']);
    assert.deepEqual(await get('category=theatre&city=Berlin'), ['Show 1', 'Show 3']);
    assert.deepEqual(await get('from=2027-03-03T00:00:00Z&to=2027-03-05T00:00:00Z'), ['Show 2', 'Show 3']);
    assert.deepEqual(await get('q=show%205'), ['Show 5']);
    assert.deepEqual(await get('q=%25'), []);
  });

  test('when the query is malformed, then 400', async () => {
    for (const query of [
      'cursor=garbage',
      'cursor=!!',
      'from=yesterday',
      'limit=0',
      'limit=1000',
      'from=2027-03-05T00:00:00Z&to=2027-03-01T00:00:00Z',
      'unknown=1',
    ]) {
      const response = await t.app.inject({ method: 'GET', url: `/v1/events?${query}` });
      assert.equal(response.statusCode, 400, query);
      assert.equal(response.json().code, 'VALIDATION_FAILED', query);
    }
  });
});

describe('operations and demo mode', () => {
  test('when probed, then healthz, readyz, metrics and the OpenAPI document answer', async () => {
    const t = await startTestApp();
    try {
      assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.deepEqual((await t.app.inject({ method: 'GET', url: '/readyz' })).json(), {
        status: 'ready',
        database: 'ok',
        redis: testDb === 'postgres' ? 'ok' : 'not used',
      });
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /http_request_duration_seconds/);
      const openapi = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      assert.equal(openapi.openapi, '3.1.0');
      for (const path of [
        '/v1/events',
        '/v1/events/{event_id}/reservations',
        '/v1/reservations/{reservation_id}/confirm',
        '/v1/me/bookings',
      ]) {
        assert.ok(openapi.paths[path], path);
      }
      assert.equal((await t.app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200);
      const devToken = await t.app.inject({ method: 'POST', url: '/v1/dev/token', payload: { user_id: 'x' } });
      assert.equal(devToken.statusCode, 404, 'no dev token route when AUTH_SECRET is set');
    } finally {
      await t.close();
    }
  });

  test('when demo mode is asked for, then /v1/dev/token mints working tokens', async () => {
    // Demo mode is refused with DATABASE_URL: embedded on both passes.
    const t = await startTestApp({ env: { AUTH_SECRET: '', DEMO_MODE: 'true', DATABASE_URL: '' } });
    try {
      const minted = await t.app.inject({
        method: 'POST',
        url: '/v1/dev/token',
        payload: { user_id: 'dana', role: 'organizer' },
      });
      assert.equal(minted.statusCode, 200);
      const token = minted.json().token;
      const created = await t.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: auth(token),
        payload: eventBody(),
      });
      assert.equal(created.statusCode, 201);
      assert.equal(created.json().seat_count, 40);
      const badRole = await t.app.inject({
        method: 'POST',
        url: '/v1/dev/token',
        payload: { user_id: 'dana', role: 'root' },
      });
      assert.equal(badRole.statusCode, 400);
    } finally {
      await t.close();
    }
  });
});
