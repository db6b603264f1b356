// The pure parts of the organizer's sale figures: seats counted by status from the compact
// map, and CSV fields that read back as written and never run as a spreadsheet formula.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readSeatStatus, writeSeatStatus, availabilityBytes } from '../../src/domain/availability.ts';
import type { SeatStatus } from '../../src/domain/holds.ts';
import { countSeatStatuses } from '../../src/domain/sale-stats.ts';
import { csvField, csvLine } from '../../src/http/csv.ts';
import { seedFromEnv, seededRandom } from '../support/random.ts';

describe('seat counts from the compact map', () => {
  test('when seats have random statuses, then the counts are those of reading every seat', () => {
    const seed = seedFromEnv();
    const random = seededRandom(seed);
    for (const seatCount of [1, 3, 4, 5, 97, 1_000, 100_001]) {
      const bits = new Uint8Array(availabilityBytes(seatCount));
      const statuses: SeatStatus[] = ['available', 'held', 'booked', 'blocked'];
      for (let seatNo = 0; seatNo < seatCount; seatNo += 1) writeSeatStatus(bits, seatNo, random.pick(statuses));
      const expected = { available: 0, held: 0, booked: 0, blocked: 0 };
      for (let seatNo = 0; seatNo < seatCount; seatNo += 1) expected[readSeatStatus(bits, seatNo)] += 1;
      assert.deepEqual(countSeatStatuses(bits, seatCount), expected, `seed ${seed}, ${seatCount} seats`);
    }
  });

  test('when the map is shorter than the event (not warmed), then the missing seats are available', () => {
    assert.deepEqual(countSeatStatuses(new Uint8Array(0), 10), { available: 10, held: 0, booked: 0, blocked: 0 });
  });
});

describe('CSV fields', () => {
  test('when a field has a comma, a quote or a line break, then it is quoted with quotes doubled', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(null), '');
    assert.equal(csvField(12), '12');
    assert.equal(csvLine(['a', 1, null, 'b,c']), 'a,1,,"b,c"\r\n');
  });

  test('when a text starts like a formula, then it is prefixed with an apostrophe', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) {
      assert.equal(csvField(`${start}SUM(A1)`).replace(/^"/, '').startsWith(`'${start}`), true, JSON.stringify(start));
    }
    assert.equal(csvField('=HYPERLINK("x","y"),z'), `"'=HYPERLINK(""x"",""y""),z"`);
    assert.equal(csvField('a=b'), 'a=b', 'only a leading sign is a formula');
    assert.equal(csvField(-5), '-5', 'numbers are written as numbers');
  });
});
