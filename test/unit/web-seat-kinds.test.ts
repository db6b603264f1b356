// The browser's seat map model knows wheelchair spaces and companion seats (from the event
// detail's rows, by seat number) and blocked seats (status code 3), whichever way it is
// built: from the plan and the availability bits, or from the seat list.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seatPlace, seatStatusText } from '../../web/src/seat-map/describe.ts';
import { SeatMapModel, type EventSeatPlan, type SeatList } from '../../web/src/seat-map/model.ts';
import { seatKindOf } from '../../web/src/seat-map/seat-kinds.ts';
import { SeatSelection } from '../../web/src/seat-map/selection.ts';

/** Stalls rows A (6 seats: wheelchair spaces 2, 3; companion 1, 4) and B (6); Circle row A (4: companion 4). */
const plan: EventSeatPlan = {
  price_tiers: [
    { id: 'stalls', name: 'Stalls', price_cents: 9000, currency: 'USD' },
    { id: 'circle', name: 'Circle', price_cents: 5000, currency: 'USD' },
  ],
  sections: [
    {
      name: 'Stalls',
      price_tier: 'stalls',
      rows: [
        { label: 'A', seats: 6, accessible: [2, 3], companion: [1, 4] },
        { label: 'B', seats: 6 },
      ],
    },
    { name: 'Circle', price_tier: 'circle', rows: [{ label: 'A', seats: 4, companion: [4] }] },
  ],
};
const expectedKinds = [
  ...['companion', 'accessible', 'accessible', 'companion', 'plain', 'plain'],
  ...Array<string>(6).fill('plain'),
  ...['plain', 'plain', 'plain', 'companion'],
];

function seatList(statusAt: (seat: number) => SeatList['seats'][number]['status']): SeatList {
  const seats: SeatList['seats'] = [];
  for (const section of plan.sections)
    for (const row of section.rows)
      for (let number = 1; number <= row.seats; number++) {
        const seat = seats.length;
        seats.push({
          seat_id: `s${seat}`,
          section: section.name,
          row: row.label,
          number,
          price_cents: section.price_tier === 'stalls' ? 9000 : 5000,
          status: statusAt(seat),
        });
      }
  return { event_id: 'e', version: 1, seats };
}

describe('web seat map: accessible seating and blocked seats', () => {
  test('when the plan lists wheelchair spaces and companion seats, then the model marks those seats, built either way', () => {
    const statuses = new Uint8Array(16);
    for (const model of [
      SeatMapModel.fromPlan(plan, 's', statuses, 1),
      SeatMapModel.fromApi(
        plan,
        seatList(() => 'available'),
      ),
    ]) {
      assert.deepEqual(
        Array.from({ length: model.seatCount }, (_, seat) => seatKindOf(model.kinds, seat)),
        expectedKinds,
      );
      assert.equal(seatPlace(model, 1), 'Section Stalls, row A, seat 2, wheelchair space');
      assert.equal(seatPlace(model, 15), 'Section Circle, row A, seat 4, companion seat');
      assert.equal(seatPlace(model, 6), 'Section Stalls, row B, seat 1');
    }
  });

  test('when a seat is blocked, then the model keeps it blocked (not booked), says "not for sale" and it cannot be selected', () => {
    const fromList = SeatMapModel.fromApi(
      plan,
      seatList((seat) => (seat === 7 ? 'blocked' : seat === 8 ? 'booked' : 'available')),
    );
    const statuses = new Uint8Array(16);
    statuses[7] = 3;
    statuses[8] = 2;
    const fromPlan = SeatMapModel.fromPlan(plan, 's', statuses, 1);
    for (const model of [fromList, fromPlan]) {
      assert.equal(model.statusOf(7), 'blocked');
      assert.equal(model.statusOf(8), 'booked');
      assert.equal(seatStatusText(model, 7), 'not for sale');
      const lost: string[][] = [];
      const selection = new SeatSelection(model, { maxSelectable: 4, onSelectionLost: (ids) => lost.push(ids) });
      assert.equal(selection.toggle(7), 'unavailable');
      assert.equal(selection.toggle(9), 'selected');
      // The organizer blocks a seat a buyer had selected: it leaves the selection.
      model.applyChanges([{ seat_id: 's9', status: 'blocked' }]);
      assert.equal(model.statusOf(9), 'blocked');
      assert.deepEqual(lost, [['s9']]);
      // Released: on sale again.
      model.applyChanges([{ seat_id: 's7', status: 'available' }]);
      assert.equal(selection.toggle(7), 'selected');
    }
  });
});
