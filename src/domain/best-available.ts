// Best available: the server chooses the seats. One specification with two twins that
// must choose exactly as it does on the same inputs: the in-process board calls
// chooseSeats (adapters/memory/seat-board.ts), the Redis board runs the same steps in Lua
// (adapters/redis/lua/best.lua); test/integration/best-available-rules.test.ts checks them
// against each other, and test/unit/best-available.test.ts checks the rules as properties.
//
// The rules (seats.io's, the reference for seat maps):
// - Rows are tried best first: the section's rank (the organizer's, else the plan's
//   order from the stage), then the row's order in its section (row 1 nearest the stage),
//   so sections of one rank share their front rows before anyone gets a second row.
// - Together: the first row with `count` adjacent free seats wins. Within it, the choice
//   that leaves the fewest single free seats stranded (between taken seats, or a taken
//   seat and the row's end: a single asked for fills such a seat first); then the one
//   nearest the row's middle; then the lowest seat.
// - Apart (together: false), when no row has room together: the best seats one by one, by
//   row, then nearest the row's middle.
// - Accessible (wheelchair) seats and their companions are offered only to a request for
//   accessible seats, and such a request is offered only them.
import { DomainError } from './errors.ts';
import type { SectionInput } from './seat-map.ts';

export interface BestAvailableRequest {
  count: number;
  priceTier?: string | undefined;
  section?: string | undefined;
  accessible: boolean;
  together: boolean;
}

/**
 * A row the chooser may take seats from. runs are the stretches of seats the request may
 * take, as [first seat number, length] in seat order; a seat outside them is a wall.
 */
export interface CandidateRow {
  firstSeatNo: number;
  seatCount: number;
  runs: [number, number][];
}

/** The rows of a seat map in the order best available tries them, with each seat's kind. */
export interface SeatPlan {
  rows: PlanRow[];
}

interface PlanRow {
  sectionName: string;
  priceTierId: string;
  firstSeatNo: number;
  seatCount: number;
  /** Seat numbers in the row (from 1) kept for accessible requests: wheelchair spaces and companions. */
  reserved: Set<number>;
}

/** The rows of sections in best-first order (see the rules above). */
export function seatPlanOf(sections: readonly SectionInput[]): SeatPlan {
  const allPlaced = sections.length > 0 && sections.every((section) => section.position !== undefined);
  const frontEdges = [...new Set(sections.map((section) => Math.round(section.position?.y ?? 0)))].sort(
    (a, b) => a - b,
  );
  const ranked: (PlanRow & { rank: number; rowIndex: number; sectionIndex: number })[] = [];
  let seatNo = 0;
  sections.forEach((section, sectionIndex) => {
    // An organizer's rank first; else nearer the stage (top of the plan) when every
    // section is placed; else the order the sections are listed in.
    const implicit = allPlaced ? frontEdges.indexOf(Math.round(section.position!.y)) + 1 : sectionIndex + 1;
    const rank = section.rank ?? implicit;
    section.rows.forEach((row, rowIndex) => {
      const reserved = new Set([...(row.accessible ?? []), ...(row.companion ?? [])]);
      ranked.push({
        sectionName: section.name,
        priceTierId: section.price_tier,
        firstSeatNo: seatNo,
        seatCount: row.seats,
        reserved,
        rank,
        rowIndex,
        sectionIndex,
      });
      seatNo += row.seats;
    });
  });
  ranked.sort((a, b) => a.rank - b.rank || a.rowIndex - b.rowIndex || a.sectionIndex - b.sectionIndex);
  return {
    rows: ranked.map(({ sectionName, priceTierId, firstSeatNo, seatCount, reserved }) => ({
      sectionName,
      priceTierId,
      firstSeatNo,
      seatCount,
      reserved,
    })),
  };
}

/**
 * The rows a request may take seats from, best first, with the runs of seats it may take.
 * Throws when the scope names a tier or section the event does not have.
 */
export function candidateRows(plan: SeatPlan, request: BestAvailableRequest): CandidateRow[] {
  const inScope = plan.rows.filter(
    (row) =>
      (request.priceTier === undefined || row.priceTierId === request.priceTier) &&
      (request.section === undefined || row.sectionName === request.section),
  );
  if (inScope.length === 0) {
    const named = request.section !== undefined ? `section "${request.section}"` : `price tier "${request.priceTier}"`;
    const both = request.section !== undefined && request.priceTier !== undefined;
    throw new DomainError(
      'VALIDATION_FAILED',
      both
        ? `section "${request.section}" has no seats in price tier "${request.priceTier}"`
        : `this event has no ${named}`,
    );
  }
  const rows: CandidateRow[] = [];
  for (const row of inScope) {
    const runs: [number, number][] = [];
    let runStart = -1;
    for (let number = 1; number <= row.seatCount + 1; number += 1) {
      const takeable = number <= row.seatCount && row.reserved.has(number) === request.accessible;
      if (takeable && runStart < 0) runStart = number;
      if (!takeable && runStart > 0) {
        runs.push([row.firstSeatNo + runStart - 1, number - runStart]);
        runStart = -1;
      }
    }
    if (runs.length > 0) rows.push({ firstSeatNo: row.firstSeatNo, seatCount: row.seatCount, runs });
  }
  return rows;
}

/** Twice the distance of a stretch's middle from its row's middle (whole numbers only). */
function distanceFromMiddle(row: CandidateRow, start: number, count: number): number {
  return Math.abs(2 * (start - row.firstSeatNo) + count - row.seatCount);
}

/** The best `count` adjacent free seats of one row (see the rules), or null. */
function bestStretchIn(row: CandidateRow, isFree: (seatNo: number) => boolean, count: number): number | null {
  let best: number | null = null;
  let bestStranded = 0;
  let bestDistance = 0;
  for (const [runFirst, runLength] of row.runs) {
    const runEnd = runFirst + runLength; // exclusive
    let seatNo = runFirst;
    while (seatNo < runEnd) {
      if (!isFree(seatNo)) {
        seatNo += 1;
        continue;
      }
      let freeEnd = seatNo;
      while (freeEnd < runEnd && isFree(freeEnd)) freeEnd += 1;
      // A free stretch seatNo .. freeEnd - 1: every placement of count seats in it.
      for (let start = seatNo; start + count <= freeEnd; start += 1) {
        // Seats left alone beside the choice, less a lone seat it fills (a single asked for).
        const stranded =
          (start - seatNo === 1 ? 1 : 0) + (freeEnd - (start + count) === 1 ? 1 : 0) - (freeEnd - seatNo === 1 ? 1 : 0);
        const distance = distanceFromMiddle(row, start, count);
        if (best === null || stranded < bestStranded || (stranded === bestStranded && distance < bestDistance)) {
          best = start;
          bestStranded = stranded;
          bestDistance = distance;
        }
      }
      seatNo = freeEnd;
    }
  }
  return best;
}

/**
 * The seats best available takes, or null when the rows cannot give `count` seats
 * (together: in one row, adjacent). isFree says whether a seat may be taken now. Seats
 * apart come from the first apartRows rows only (see rowsWorthAsking).
 */
export function chooseSeats(
  rows: readonly CandidateRow[],
  isFree: (seatNo: number) => boolean,
  count: number,
  together: boolean,
  apartRows = rows.length,
): number[] | null {
  for (const row of rows) {
    const start = bestStretchIn(row, isFree, count);
    if (start !== null) return Array.from({ length: count }, (_, offset) => start + offset);
  }
  if (together) return null;
  const chosen: number[] = [];
  for (const row of rows.slice(0, apartRows)) {
    const free: number[] = [];
    for (const [runFirst, runLength] of row.runs) {
      for (let seatNo = runFirst; seatNo < runFirst + runLength; seatNo += 1) if (isFree(seatNo)) free.push(seatNo);
    }
    free.sort((a, b) => distanceFromMiddle(row, a, 1) - distanceFromMiddle(row, b, 1) || a - b);
    for (const seatNo of free) {
      chosen.push(seatNo);
      if (chosen.length === count) return chosen.sort((a, b) => a - b);
    }
  }
  return null;
}

export function notEnoughSeats(request: BestAvailableRequest): DomainError {
  const where = [
    request.section !== undefined ? `in section "${request.section}"` : '',
    request.priceTier !== undefined ? `at price tier "${request.priceTier}"` : '',
    request.accessible ? 'accessible' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return new DomainError(
    'NOT_ENOUGH_SEATS',
    `no ${request.count} seats${request.together ? ' together' : ''} are available${where ? ` ${where}` : ''}`,
    { count: request.count, together: request.together },
  );
}

/**
 * The rows worth offering a chooser that sees the truth, judged from a reading that may be
 * a moment old: the first `fittingRows` rows with room together and (apart) every row
 * with a free seat until `freeSeats` free seats, in their order; apartRows is how many of
 * them (from the first) hold those free seats, the only rows seats apart may come from
 * (a row between them that is not sent would be skipped). On an exact reading,
 * chooseSeats over these (freeSeats at least count) chooses as over all the rows
 * (test/unit/best-available.test.ts); a reading that shows seats free that are not (taken
 * since) may need more: ask again with larger limits.
 */
export function rowsWorthAsking(
  rows: readonly CandidateRow[],
  factsOf: (row: CandidateRow) => RowFacts,
  choice: { count: number; together: boolean },
  limits: { fittingRows: number; freeSeats: number },
): { rows: CandidateRow[]; apartRows: number } {
  const worth: CandidateRow[] = [];
  let apartRows = 0;
  let fitting = 0;
  let freeSeen = 0;
  for (const row of rows) {
    const counting = !choice.together && freeSeen < limits.freeSeats;
    if (fitting >= limits.fittingRows && !counting) break;
    const facts = factsOf(row);
    const fits = fitting < limits.fittingRows && facts.longestFree >= choice.count;
    const free = counting ? facts.free : 0;
    if (fits) fitting += 1;
    freeSeen += free;
    if (fits || free > 0) worth.push(row);
    if (counting) apartRows = worth.length;
  }
  return { rows: worth, apartRows };
}

/** What rowsWorthAsking needs of a row: its free seats, and its longest stretch of them. */
export interface RowFacts {
  free: number;
  longestFree: number;
}

/** A row's facts at a reading (worked out once per row and reading by the caller, for every request shape). */
export function rowFactsOf(row: CandidateRow, isFree: (seatNo: number) => boolean): RowFacts {
  let free = 0;
  let longestFree = 0;
  for (const [runFirst, runLength] of row.runs) {
    let stretch = 0;
    for (let seatNo = runFirst; seatNo < runFirst + runLength; seatNo += 1) {
      if (isFree(seatNo)) {
        free += 1;
        stretch += 1;
        if (stretch > longestFree) longestFree = stretch;
      } else stretch = 0;
    }
  }
  return { free, longestFree };
}
