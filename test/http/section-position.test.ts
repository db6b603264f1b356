// What the drawn seat map reads from the event detail: where sections sit on the venue plan
// (kept and shown as sent; a bad one refused like any other bad field) and how seat ids are made.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createEvent, eventBody, startTestApp, tableCounts, type TestApp } from '../support/harness.ts';

describe('section positions', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => t?.close());

  const sections = (positionOfA: unknown) => ({
    sections: [
      { name: 'A', price_tier: 'front', rows: [{ label: '1', seats: 4 }], position: positionOfA },
      { name: 'B', price_tier: 'back', rows: [{ label: '1', seats: 6 }] },
    ],
  });

  test('when a section has a position, then the event detail shows it, and none for the other section', async () => {
    const eventId = await createEvent(t, { seat_map: sections({ x: -12.5, y: 40, angle: 30 }) });
    const detail = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` })).json();
    assert.deepEqual(detail.sections[0].position, { x: -12.5, y: 40, angle: 30 });
    assert.equal('position' in detail.sections[1], false);
  });

  test('when a client draws from the sections, then the seat id scheme names exactly the seats of the seat list', async () => {
    const eventId = await createEvent(t, { seat_map: sections({ x: 1, y: 2 }) });
    const detail = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` })).json();
    assert.equal(detail.seat_ids.kind, 'prefix-index');
    const listed = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` })).json().seats;
    assert.equal(listed.length, detail.seat_count);
    listed.forEach((seat: { seat_id: string }, index: number) =>
      assert.equal(seat.seat_id, `${detail.seat_ids.prefix}${index}`),
    );
  });

  test('when the organizer replaces the seat map before the sale, then the new positions are shown', async () => {
    const eventId = await createEvent(t, {
      seat_map: sections({ x: 0, y: 0 }),
      sale_opens_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    const token = await t.token('organizer-1', 'organizer');
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${eventId}`,
      headers: { authorization: `Bearer ${token}` },
      payload: { price_tiers: eventBody().price_tiers, seat_map: sections({ x: 5, y: 6, angle: -90 }) },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const detail = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` })).json();
    assert.deepEqual(detail.sections[0].position, { x: 5, y: 6, angle: -90 });
  });

  test('when a position is out of range, incomplete or has unknown fields, then 400 naming it and nothing is created', async () => {
    const before = await tableCounts(t);
    const token = await t.token('organizer-1', 'organizer');
    for (const position of [
      { x: 1e9, y: 0 },
      { x: 0 },
      { x: 0, y: 0, angle: 720 },
      { x: 0, y: 0, z: 1 },
      { x: '1', y: 0 },
      null,
    ]) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { authorization: `Bearer ${token}` },
        payload: eventBody({ seat_map: sections(position) }),
      });
      assert.equal(response.statusCode, 400, JSON.stringify(position));
      assert.match(response.body, /position/, JSON.stringify(position));
    }
    assert.deepEqual(await tableCounts(t), before);
  });
});
