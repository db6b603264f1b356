// GET /v1/me/reservations: a buyer's own holds, so the web app can show one that is still
// running after the buyer left checkout (issue 22: the hold was lost from view for up to ten
// minutes). The clock is a ManualClock: a hold ends exactly at its expires_at.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { auth, confirmReservation, createEvent, holdSeats, startTestApp, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2030-01-01T10:00:00Z');
const holdTtlMs = 60_000;

interface Listed {
  reservation_id: string;
  event_id: string;
  event_name: string;
  status: string;
  expires_at: string;
  seats: { seat_id: string }[];
  total_cents: number;
}

describe('my reservations', () => {
  let t: TestApp;
  let clock: ManualClock;
  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({ clock, env: { HOLD_TTL_SECONDS: String(holdTtlMs / 1000) } });
  });
  after(() => t?.close());

  const list = async (user: string, query = '') => {
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/me/reservations${query}`,
      headers: auth(await t.token(user)),
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json().reservations as Listed[];
  };

  test('when a buyer holds seats, then only their own active holds are listed, as GET /v1/reservations/{id} shows them, until exactly expires_at', async () => {
    const eventId = await createEvent(t, { name: 'Night at the Hall' }, clock.nowMs());
    const held = await holdSeats(t, eventId, 'mira', ['s0', 's1']);
    const paid = await holdSeats(t, eventId, 'mira', ['s2']);
    assert.equal((await confirmReservation(t, 'mira', paid, 'paid')).statusCode, 201);
    const cancelled = await holdSeats(t, eventId, 'mira', ['s3']);
    const cancel = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${cancelled}`,
      headers: auth(await t.token('mira')),
    });
    assert.equal(cancel.statusCode, 204, cancel.body);
    const someoneElses = await holdSeats(t, eventId, 'otto', ['s4']);

    const active = await list('mira');
    assert.deepEqual(
      active.map((reservation) => reservation.reservation_id),
      [held],
    );
    assert.deepEqual(await list('mira', '?status=active'), active);
    const one = await t.app.inject({
      method: 'GET',
      url: `/v1/reservations/${held}`,
      headers: auth(await t.token('mira')),
    });
    assert.deepEqual(active[0], { ...one.json(), event_name: 'Night at the Hall' });
    assert.equal(active[0]!.status, 'active');
    assert.equal(active[0]!.expires_at, new Date(startMs + holdTtlMs).toISOString());
    assert.deepEqual(
      active[0]!.seats.map((seat) => seat.seat_id),
      ['s0', 's1'],
    );
    assert.deepEqual(
      (await list('otto')).map((reservation) => reservation.reservation_id),
      [someoneElses],
    );

    const all = await list('mira', '?status=all');
    assert.deepEqual(new Set(all.map((reservation) => reservation.reservation_id)), new Set([held, paid, cancelled]));
    assert.equal(all.find((reservation) => reservation.reservation_id === paid)!.status, 'confirmed');
    assert.equal(all.find((reservation) => reservation.reservation_id === cancelled)!.status, 'cancelled');

    clock.advance(holdTtlMs - 1);
    assert.deepEqual(
      (await list('mira')).map((reservation) => reservation.reservation_id),
      [held],
    );
    clock.advance(1);
    assert.deepEqual(await list('mira'), [], 'a hold ends at its expires_at, swept or not');
    const expired = (await list('mira', '?status=all')).find((reservation) => reservation.reservation_id === held);
    assert.equal(expired?.status, 'expired');
  });

  test('when the status filter is not active or all, then 400 as a problem document', async () => {
    for (const query of ['?status=expired', '?status=', '?status=ACTIVE', '?other=1']) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/me/reservations${query}`,
        headers: auth(await t.token('mira')),
      });
      assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal(typeof response.json().code, 'string');
    }
  });

  test('when no one is signed in, then 401', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/me/reservations' });
    assert.equal(response.statusCode, 401, response.body);
  });
});
