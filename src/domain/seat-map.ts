// Seat map rules: validation beyond the JSON schema, and expansion into numbered rows.
// Seats are numbered 0..seatCount-1 in section, row, seat order; that order is the order
// of GET /v1/events/{id}/seats and of any compact availability encoding.
import { DomainError, type FieldError } from './errors.ts';

export interface PriceTier {
  id: string;
  name: string;
  price_cents: number;
  currency: string;
}

export interface SectionInput {
  name: string;
  price_tier: string;
  rows: RowInput[];
  /** Where the section sits on the plan (seat widths; degrees clockwise); drawing only. */
  position?: { x: number; y: number; angle?: number };
  /** Best available tries sections of a lower rank first (see domain/best-available.ts). */
  rank?: number;
}

export interface RowInput {
  label: string;
  seats: number;
  /** Seat numbers (from 1) that are wheelchair spaces: offered to accessible requests only. */
  accessible?: number[];
  /** Seat numbers (from 1) kept for the companions of wheelchair users, likewise. */
  companion?: number[];
}

export interface SeatMapLimits {
  seatsPerEventMax: number;
  sectionsPerEventMax: number;
  rowsPerSectionMax: number;
  seatsPerRowMax: number;
}

/** One row of seats after expansion: seats firstSeatNo .. firstSeatNo + seatCount - 1. */
export interface ExpandedRow {
  sectionName: string;
  rowLabel: string;
  seatCount: number;
  firstSeatNo: number;
  priceTierId: string;
  priceCents: number;
  /** Seat numbers (from 1) of wheelchair spaces and of companion seats, when the row has any. */
  accessible?: number[];
  companion?: number[];
}

export const seatMapErrorsShownMax = 20;

export interface ExpandedSeatMap {
  rows: ExpandedRow[];
  seatCount: number;
  currency: string;
}

/** Validates tiers and sections together; throws INVALID_SEAT_MAP listing the problems (the first 20). */
export function expandSeatMap(
  priceTiers: PriceTier[],
  sections: SectionInput[],
  limits: SeatMapLimits,
): ExpandedSeatMap {
  const errors: FieldError[] = [];
  const tiers = new Map<string, PriceTier>();
  priceTiers.forEach((tier, index) => {
    if (tiers.has(tier.id))
      errors.push({ path: `/price_tiers/${index}/id`, message: `duplicate price tier id "${tier.id}"` });
    tiers.set(tier.id, tier);
  });
  const currencies = new Set(priceTiers.map((tier) => tier.currency));
  if (currencies.size > 1) {
    errors.push({ path: '/price_tiers', message: 'all price tiers of an event must use one currency' });
  }
  if (sections.length === 0) errors.push({ path: '/seat_map/sections', message: 'at least one section is required' });
  if (sections.length > limits.sectionsPerEventMax) {
    errors.push({ path: '/seat_map/sections', message: `at most ${limits.sectionsPerEventMax} sections are allowed` });
  }

  const rows: ExpandedRow[] = [];
  const sectionNames = new Set<string>();
  let seatCount = 0;
  sections.forEach((section, sectionIndex) => {
    const at = `/seat_map/sections/${sectionIndex}`;
    if (sectionNames.has(section.name))
      errors.push({ path: `${at}/name`, message: `duplicate section name "${section.name}"` });
    sectionNames.add(section.name);
    const tier = tiers.get(section.price_tier);
    if (!tier) errors.push({ path: `${at}/price_tier`, message: `unknown price tier "${section.price_tier}"` });
    if (section.rows.length === 0) errors.push({ path: `${at}/rows`, message: 'at least one row is required' });
    if (section.rows.length > limits.rowsPerSectionMax) {
      errors.push({ path: `${at}/rows`, message: `at most ${limits.rowsPerSectionMax} rows per section are allowed` });
    }
    const rowLabels = new Set<string>();
    section.rows.forEach((row, rowIndex) => {
      const rowAt = `${at}/rows/${rowIndex}`;
      if (rowLabels.has(row.label))
        errors.push({ path: `${rowAt}/label`, message: `duplicate row label "${row.label}"` });
      rowLabels.add(row.label);
      if (!Number.isInteger(row.seats) || row.seats < 1) {
        errors.push({ path: `${rowAt}/seats`, message: 'seat count must be a positive integer' });
        return;
      }
      if (row.seats > limits.seatsPerRowMax) {
        errors.push({ path: `${rowAt}/seats`, message: `at most ${limits.seatsPerRowMax} seats per row are allowed` });
        return;
      }
      errors.push(...reservedSeatErrors(row, rowAt));
      rows.push({
        sectionName: section.name,
        rowLabel: row.label,
        seatCount: row.seats,
        firstSeatNo: seatCount,
        priceTierId: section.price_tier,
        priceCents: tier?.price_cents ?? 0,
        ...(row.accessible?.length ? { accessible: row.accessible } : {}),
        ...(row.companion?.length ? { companion: row.companion } : {}),
      });
      seatCount += row.seats;
    });
  });
  if (seatCount > limits.seatsPerEventMax) {
    errors.push({
      path: '/seat_map',
      message: `at most ${limits.seatsPerEventMax} seats per event are allowed (got ${seatCount})`,
    });
  }
  if (errors.length > 0) {
    // A huge broken map must not make a huge answer: the first few problems are enough.
    const shown = errors.slice(0, seatMapErrorsShownMax);
    const more = errors.length - shown.length;
    const detail = shown.map((error) => `${error.path}: ${error.message}`).join('; ');
    throw new DomainError('INVALID_SEAT_MAP', more > 0 ? `${detail}; and ${more} more` : detail, {
      errors: shown,
      ...(more > 0 ? { errors_not_shown: more } : {}),
    });
  }
  return { rows, seatCount, currency: priceTiers[0]?.currency ?? 'USD' };
}

/** Accessible and companion seat numbers must name seats of the row, once, in one list only. */
function reservedSeatErrors(row: RowInput, rowAt: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<number>();
  for (const list of ['accessible', 'companion'] as const) {
    for (const number of row[list] ?? []) {
      if (!Number.isInteger(number) || number < 1 || number > row.seats) {
        errors.push({ path: `${rowAt}/${list}`, message: `seat ${number} is not a seat of this row (1–${row.seats})` });
      } else if (seen.has(number)) {
        errors.push({ path: `${rowAt}/${list}`, message: `seat ${number} is listed more than once` });
      }
      seen.add(number);
    }
  }
  return errors;
}

// Seat ids are opaque to clients, stable, and cheap to parse: "s" + seat number.
const seatIdPattern = /^s(0|[1-9]\d{0,8})$/;
const seatIdPrefix = 's';

export function seatIdOf(seatNo: number): string {
  return `${seatIdPrefix}${seatNo}`;
}

/**
 * How seat ids are made, told to clients in the event detail, so a seat map can be drawn
 * from the sections and the 2-bit availability alone (a few KB) instead of the full seat
 * list (about 10 MB for 100,000 seats). Change it together with seatIdOf.
 */
export const seatIdScheme = { kind: 'prefix-index', prefix: seatIdPrefix } as const;

/** The seat number of an id, or undefined when the id names no seat of an event of this size. */
export function seatNoOf(seatId: string, seatCount: number): number | undefined {
  const match = seatIdPattern.exec(seatId);
  if (!match) return undefined;
  const seatNo = Number(match[1]);
  return seatNo < seatCount ? seatNo : undefined;
}
