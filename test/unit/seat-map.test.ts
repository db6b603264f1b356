import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../../src/domain/errors.ts';
import { expandSeatMap, seatIdOf, seatNoOf, type SectionInput } from '../../src/domain/seat-map.ts';

const tiers = [
  { id: 'gold', name: 'Gold', price_cents: 9000, currency: 'EUR' },
  { id: 'silver', name: 'Silver', price_cents: 4000, currency: 'EUR' },
];
const limits = { seatsPerEventMax: 1_000, sectionsPerEventMax: 10, rowsPerSectionMax: 10, seatsPerRowMax: 100 };

function invalid(sections: SectionInput[], priceTiers = tiers, given = limits): { path: string; message: string }[] {
  try {
    expandSeatMap(priceTiers, sections, given);
  } catch (error) {
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'INVALID_SEAT_MAP');
    return error.extensions.errors as { path: string; message: string }[];
  }
  assert.fail('expected INVALID_SEAT_MAP');
}

describe('seat map expansion', () => {
  test('when sections and rows are given, then seats are numbered in section, row, seat order with their tier price', () => {
    const map = expandSeatMap(
      tiers,
      [
        {
          name: 'Front',
          price_tier: 'gold',
          rows: [
            { label: 'A', seats: 3 },
            { label: 'B', seats: 2 },
          ],
        },
        { name: 'Back', price_tier: 'silver', rows: [{ label: 'A', seats: 4 }] },
      ],
      limits,
    );
    assert.equal(map.seatCount, 9);
    assert.equal(map.currency, 'EUR');
    assert.deepEqual(
      map.rows.map((row) => [row.sectionName, row.rowLabel, row.firstSeatNo, row.seatCount, row.priceCents]),
      [
        ['Front', 'A', 0, 3, 9000],
        ['Front', 'B', 3, 2, 9000],
        ['Back', 'A', 5, 4, 4000],
      ],
    );
  });

  test('when the map is wrong in several ways, then every problem is reported with its path', () => {
    const errors = invalid([
      {
        name: 'X',
        price_tier: 'bronze',
        rows: [
          { label: '1', seats: 0 },
          { label: '1', seats: 2 },
        ],
      },
      { name: 'X', price_tier: 'gold', rows: [] },
    ]);
    assert.deepEqual(errors.map((error) => error.path).sort(), [
      '/seat_map/sections/0/price_tier',
      '/seat_map/sections/0/rows/0/seats',
      '/seat_map/sections/0/rows/1/label',
      '/seat_map/sections/1/name',
      '/seat_map/sections/1/rows',
    ]);
  });

  test('when limits are exceeded, then the limit is named', () => {
    const rows = Array.from({ length: 10 }, (_, index) => ({ label: String(index), seats: 100 }));
    const sections = Array.from({ length: 2 }, (_, index) => ({ name: `S${index}`, price_tier: 'gold', rows }));
    assert.match(invalid(sections)[0]!.message, /at most 1000 seats per event/);
    assert.match(
      invalid([{ name: 'A', price_tier: 'gold', rows: [{ label: '1', seats: 101 }] }])[0]!.message,
      /at most 100 seats per row/,
    );
    assert.equal(invalid([], tiers)[0]!.path, '/seat_map/sections');
  });

  test('when tiers disagree on currency or repeat an id, then the map is refused', () => {
    const section = [{ name: 'A', price_tier: 'gold', rows: [{ label: '1', seats: 1 }] }];
    assert.equal(
      invalid(section, [...tiers, { id: 'gold', name: 'Again', price_cents: 1, currency: 'EUR' }])[0]!.path,
      '/price_tiers/2/id',
    );
    assert.equal(
      invalid(section, [tiers[0]!, { id: 'usd', name: 'Dollar', price_cents: 1, currency: 'USD' }])[0]!.path,
      '/price_tiers',
    );
  });

  test('when seat ids are parsed, then only ids of existing seats map back to their number', () => {
    assert.equal(seatNoOf(seatIdOf(0), 10), 0);
    assert.equal(seatNoOf(seatIdOf(9), 10), 9);
    for (const bad of ['s10', 's-1', 's01', 'S1', 's', '1', 's1 ', 's1e3', 's99999999999'])
      assert.equal(seatNoOf(bad, 10), undefined, bad);
  });
});
