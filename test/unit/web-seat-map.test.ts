// The browser's seat map model (web/src/seat-map), run in Node: it reads the service's
// 2-bit availability exactly as the service writes it, lays out sections without overlaps,
// and the shared selection drops seats that someone else takes.
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { availabilityBytes, writeSeatStatus } from '../../src/domain/availability.ts';
import type { SeatStatus } from '../../src/domain/holds.ts';
import { decodeAvailability, SeatMapModel, type EventSeatPlan, type SeatList } from '../../web/src/seat-map/model.ts';
import { SeatSelection } from '../../web/src/seat-map/selection.ts';
import { seedFromEnv } from '../support/random.ts';

const statuses: SeatStatus[] = ['available', 'held', 'booked', 'blocked'];
const seed = seedFromEnv();

function planOf(sectionShapes: { rows: number; seats: number }[], positioned = false): EventSeatPlan {
  return {
    price_tiers: [
      { id: 'a', name: 'A', price_cents: 5000, currency: 'USD' },
      { id: 'b', name: 'B', price_cents: 2500, currency: 'USD' },
    ],
    sections: sectionShapes.map((shape, index) => ({
      name: `S${index}`,
      price_tier: index % 2 ? 'b' : 'a',
      rows: Array.from({ length: shape.rows }, (_, row) => ({ label: String(row + 1), seats: shape.seats })),
      ...(positioned ? { position: { x: index * (shape.seats + 5), y: 10, angle: 0 } } : {}),
    })),
  };
}

function seatListOf(plan: EventSeatPlan, statusAt: (seat: number) => SeatStatus = () => 'available'): SeatList {
  const seats: SeatList['seats'] = [];
  const prices = new Map(plan.price_tiers.map((tier) => [tier.id, tier.price_cents]));
  for (const section of plan.sections)
    for (const row of section.rows)
      for (let number = 1; number <= row.seats; number++) {
        const seat = seats.length;
        seats.push({
          seat_id: `s${seat}`,
          section: section.name,
          row: row.label,
          number,
          price_cents: prices.get(section.price_tier)!,
          status: statusAt(seat),
        });
      }
  return { event_id: 'e', version: 1, seats };
}

describe('web seat map model', () => {
  test('when the service packs statuses, then the browser decodes the same statuses', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...statuses), { minLength: 1, maxLength: 3000 }), async (seats) => {
        const bits = new Uint8Array(availabilityBytes(seats.length));
        seats.forEach((status, seat) => writeSeatStatus(bits, seat, status));
        const decoded = await decodeAvailability({
          version: 7,
          seat_count: seats.length,
          encoding: '2bit-deflate-raw-base64',
          data: deflateRawSync(bits).toString('base64'),
        });
        assert.deepEqual(
          [...decoded],
          seats.map((status) => statuses.indexOf(status)),
        );
      }),
      { seed, numRuns: 60 },
    );
  });

  test('when sections have no position, then the automatic layout keeps every section apart and off the stage', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ rows: fc.integer({ min: 1, max: 12 }), seats: fc.integer({ min: 1, max: 40 }) }), {
          minLength: 1,
          maxLength: 24,
        }),
        (shapes) => {
          const plan = planOf(shapes);
          const model = SeatMapModel.fromApi(plan, seatListOf(plan));
          assert.equal(
            model.seatCount,
            shapes.reduce((sum, shape) => sum + shape.rows * shape.seats, 0),
          );
          // Seats of different sections never come within half a seat width of each other.
          const cells = new Map<string, number[]>();
          for (let seat = 0; seat < model.seatCount; seat++) {
            const key = `${Math.floor(model.xs[seat]!)}:${Math.floor(model.ys[seat]!)}`;
            cells.set(key, [...(cells.get(key) ?? []), seat]);
          }
          for (let seat = 0; seat < model.seatCount; seat++) {
            const x = model.xs[seat]!;
            const y = model.ys[seat]!;
            const stage = model.stage;
            assert.ok(
              !(x > stage.x && x < stage.x + stage.width && y > stage.y && y < stage.y + stage.height),
              `seat ${seat} on the stage`,
            );
            for (let dx = -1; dx <= 1; dx++)
              for (let dy = -1; dy <= 1; dy++)
                for (const other of cells.get(`${Math.floor(x) + dx}:${Math.floor(y) + dy}`) ?? []) {
                  if (model.sectionOfSeat[other] === model.sectionOfSeat[seat]) continue;
                  const distance = Math.hypot(model.xs[other]! - x, model.ys[other]! - y);
                  assert.ok(distance >= 0.5, `seats ${seat} and ${other} of two sections overlap (${distance})`);
                }
          }
        },
      ),
      { seed, numRuns: 40 },
    );
  });

  test('when built from the plan and the availability, then the model is the one the seat list gives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ rows: fc.integer({ min: 1, max: 6 }), seats: fc.integer({ min: 1, max: 20 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (shapes, positioned, statusSeed) => {
          const plan = planOf(shapes, positioned);
          const statusAt = (seat: number) => statuses[(seat * 7 + statusSeed) % 3]!;
          const fromList = SeatMapModel.fromApi(plan, seatListOf(plan, statusAt));
          const codes = Uint8Array.from({ length: fromList.seatCount }, (_, seat) => statuses.indexOf(statusAt(seat)));
          const fromPlan = SeatMapModel.fromPlan(plan, 's', codes, 1);
          assert.deepEqual(fromPlan.seatIds, fromList.seatIds);
          assert.deepEqual(fromPlan.statuses, fromList.statuses);
          assert.deepEqual(fromPlan.xs, fromList.xs);
          assert.deepEqual(fromPlan.ys, fromList.ys);
          assert.deepEqual(fromPlan.numbers, fromList.numbers);
          assert.deepEqual(fromPlan.priceCents, fromList.priceCents);
          assert.deepEqual(fromPlan.sections, fromList.sections);
          assert.deepEqual(fromPlan.rowLabels, fromList.rowLabels);
        },
      ),
      { seed, numRuns: 40 },
    );
    assert.throws(() => SeatMapModel.fromPlan(planOf([{ rows: 1, seats: 3 }]), 's', new Uint8Array(4), 1), /seats/);
  });

  test('when a section has a position, then its first seat is drawn there', () => {
    const plan = planOf(
      [
        { rows: 2, seats: 3 },
        { rows: 1, seats: 4 },
      ],
      true,
    );
    const model = SeatMapModel.fromApi(plan, seatListOf(plan));
    assert.ok(
      Math.abs(model.xs[0]! - 0.5) < 1e-6 && Math.abs(model.ys[0]! - 10.5) < 1e-6,
      `${model.xs[0]},${model.ys[0]}`,
    );
    const firstOfSecond = 6;
    assert.ok(Math.abs(model.xs[firstOfSecond]! - 9.5) < 1e-6, String(model.xs[firstOfSecond]));
  });

  test('when someone else takes selected seats, then they leave the selection and are reported lost', () => {
    const plan = planOf([{ rows: 3, seats: 10 }]);
    const model = SeatMapModel.fromApi(
      plan,
      seatListOf(plan, (seat) => (seat === 4 ? 'booked' : 'available')),
    );
    const lost: string[][] = [];
    const changes: string[][] = [];
    let limits = 0;
    const selection = new SeatSelection(model, {
      maxSelectable: 3,
      onSelectionLost: (ids) => lost.push(ids),
      onSelectionChange: (ids) => changes.push(ids),
      onLimit: () => limits++,
    });
    assert.equal(selection.toggle(model.indexOf('s4')), 'unavailable');
    for (const id of ['s1', 's2', 's3']) assert.equal(selection.toggle(model.indexOf(id)), 'selected');
    assert.equal(selection.toggle(model.indexOf('s5')), 'limit');
    assert.equal(limits, 1);
    model.applyChanges([
      { seat_id: 's2', status: 'held' },
      { seat_id: 's9', status: 'held' },
      { seat_id: 'nope', status: 'held' },
    ]);
    assert.deepEqual(lost, [['s2']]);
    assert.deepEqual(selection.ids(), ['s1', 's3']);
    assert.deepEqual(changes.at(-1), ['s1', 's3']);
    // A snapshot that says a selected seat is taken drops it too.
    const snapshot = new Uint8Array(model.seatCount);
    snapshot[model.indexOf('s3')] = 2;
    model.applySnapshot(snapshot);
    assert.deepEqual(lost.at(-1), ['s3']);
    assert.deepEqual(selection.ids(), ['s1']);
    assert.throws(() => model.applySnapshot(new Uint8Array(model.seatCount + 1)), /seats/);
  });
});
