// The badges on an event card (web/src/sale-badges.ts), run in Node.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dateTime } from '../../web/src/format.ts';
import { saleBadges } from '../../web/src/sale-badges.ts';

const nowMs = Date.parse('2027-03-01T12:00:00Z');
const opensAt = '2027-03-02T09:30:00.000Z';

describe('the sale badges on an event card', () => {
  test('when the sale has opened, then the card says "On sale"', () => {
    const event = {
      status: 'published',
      sale_opens_at: '2027-03-01T12:00:00.000Z',
      waiting_room_enabled: false,
    } as const;
    assert.deepEqual(saleBadges(event, nowMs), [{ text: 'On sale', kind: 'on-sale' }]);
  });

  test("when the sale opens later, then the card says when, in the buyer's locale", () => {
    const event = { status: 'published', sale_opens_at: opensAt, waiting_room_enabled: false } as const;
    assert.deepEqual(saleBadges(event, nowMs), [{ text: `Sale opens ${dateTime(opensAt)}`, kind: 'upcoming' }]);
    assert.deepEqual(
      saleBadges(event, Date.parse(opensAt)),
      [{ text: 'On sale', kind: 'on-sale' }],
      'open at the instant',
    );
  });

  test('when buyers line up first, then a "Waiting room" badge follows the sale badge', () => {
    const event = { status: 'published', sale_opens_at: opensAt, waiting_room_enabled: true } as const;
    assert.deepEqual(
      saleBadges(event, nowMs).map((badge) => badge.kind),
      ['upcoming', 'waiting-room'],
    );
  });

  test('when the event is cancelled, then that is the only badge', () => {
    const event = { status: 'cancelled', sale_opens_at: opensAt, waiting_room_enabled: true } as const;
    assert.deepEqual(saleBadges(event, nowMs), [{ text: 'Cancelled', kind: 'cancelled' }]);
  });
});
