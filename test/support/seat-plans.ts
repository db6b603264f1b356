// Random seat maps for the best-available tests: sections with ranks and tiers, rows with
// wheelchair and companion seats, a random set of taken seats, and a request.
import fc from 'fast-check';
import type { BestAvailableRequest } from '../../src/domain/best-available.ts';
import type { SectionInput } from '../../src/domain/seat-map.ts';

const rowArb = fc
  .integer({ min: 1, max: 12 })
  .chain((seats) =>
    fc.record({
      label: fc.constant('r'),
      seats: fc.constant(seats),
      marks: fc.array(fc.constantFrom('regular', 'regular', 'regular', 'accessible', 'companion'), {
        minLength: seats,
        maxLength: seats,
      }),
    }),
  )
  .map(({ label, seats, marks }) => ({
    label,
    seats,
    accessible: marks.flatMap((mark, index) => (mark === 'accessible' ? [index + 1] : [])),
    companion: marks.flatMap((mark, index) => (mark === 'companion' ? [index + 1] : [])),
  }));

export const sectionsArb: fc.Arbitrary<SectionInput[]> = fc
  .array(
    fc.record({
      tier: fc.constantFrom('front', 'back'),
      rank: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      rows: fc.array(rowArb, { minLength: 1, maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((sections) =>
    sections.map((section, index) => ({
      name: `S${index}`,
      price_tier: section.tier,
      rows: section.rows.map((row, rowIndex) => ({ ...row, label: String(rowIndex + 1) })),
      ...(section.rank !== undefined ? { rank: section.rank } : {}),
    })),
  );

/** A seat map, which of its seats are taken, and a request for seats. */
export const bestAvailableCaseArb: fc.Arbitrary<{
  sections: SectionInput[];
  taken: boolean[];
  request: BestAvailableRequest;
}> = sectionsArb.chain((sections) => {
  const seatCount = sections.reduce((sum, section) => sum + section.rows.reduce((n, row) => n + row.seats, 0), 0);
  return fc.record({
    sections: fc.constant(sections),
    taken: fc.array(fc.boolean(), { minLength: seatCount, maxLength: seatCount }),
    request: fc.record({
      count: fc.integer({ min: 1, max: 6 }),
      together: fc.boolean(),
      accessible: fc.boolean(),
      priceTier: fc.option(fc.constantFrom(...new Set(sections.map((section) => section.price_tier))), {
        nil: undefined,
      }),
      section: fc.option(fc.constantFrom(...sections.map((section) => section.name)), { nil: undefined }),
    }),
  });
});
