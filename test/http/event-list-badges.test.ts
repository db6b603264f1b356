// What the event list answers for its cards' badges: the sale's opening and whether a
// waiting room is on, kept current through the catalog cache when the organizer changes it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, createEvent, startTestApp, type TestApp } from '../support/harness.ts';

describe('the event list for the cards', () => {
  let t: TestApp;
  let withRoom: string;
  let withoutRoom: string;
  before(async () => {
    t = await startTestApp();
    withRoom = await createEvent(t, {
      name: 'Badge Night With Room',
      waiting_room: { enabled: true, admit_per_minute: 60 },
    });
    withoutRoom = await createEvent(t, { name: 'Badge Night Without Room' });
  });
  after(() => t?.close());

  const listed = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/events?limit=100' });
    assert.equal(response.statusCode, 200);
    const events = response.json().events as {
      event_id: string;
      waiting_room_enabled: boolean;
      sale_opens_at: string;
    }[];
    return new Map(events.map((event) => [event.event_id, event]));
  };

  it('when events are listed, then each says whether its waiting room is on', async () => {
    const events = await listed();
    assert.equal(events.get(withRoom)?.waiting_room_enabled, true);
    assert.equal(events.get(withoutRoom)?.waiting_room_enabled, false);
    assert.ok(!Number.isNaN(Date.parse(events.get(withRoom)!.sale_opens_at)));
  });

  it('when the organizer turns the waiting room off, then the (cached) list says so', async () => {
    await listed(); // fills the cache
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${withRoom}`,
      headers: auth(await t.token('organizer-1', 'organizer')),
      payload: { waiting_room: { enabled: false } },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal((await listed()).get(withRoom)?.waiting_room_enabled, false);
  });
});
