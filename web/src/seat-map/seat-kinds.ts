// Wheelchair spaces and companion seats: the event detail lists them per row by seat
// number (from 1); the model keeps a code per seat, so the views mark them without a
// lookup. Best available offers these seats only to a buyer who asks for accessible seating.
import type { EventSection, SectionGeometry } from './model.ts';

export const seatKindCode = { plain: 0, accessible: 1, companion: 2 } as const;
export type SeatKind = keyof typeof seatKindCode;

/** How a kind is said: in the list, the tooltip and the live region. */
export const seatKindText: Record<SeatKind, string> = {
  plain: '',
  accessible: 'wheelchair space',
  companion: 'companion seat',
};

const kindOfCode: readonly SeatKind[] = ['plain', 'accessible', 'companion'];

export function seatKindOf(kinds: Uint8Array, seat: number): SeatKind {
  return kindOfCode[kinds[seat] ?? 0] ?? 'plain';
}

interface ModelRows {
  rowLabels: readonly string[];
  rowFirstSeat: Uint32Array;
  rowSeatCount: Uint32Array;
}

/**
 * The kind of every seat, from the planned sections (by name) and rows (by label) and the
 * seats' numbers. Only sections that have such seats are looked at: most have none.
 */
export function seatKindsOf(
  planSections: ReadonlyMap<string, EventSection>,
  sections: readonly SectionGeometry[],
  rows: ModelRows,
  numbers: Uint32Array,
): Uint8Array {
  const kinds = new Uint8Array(numbers.length);
  for (const section of sections) {
    const planned = planSections.get(section.name);
    if (!planned?.rows.some((row) => row.accessible?.length || row.companion?.length)) continue;
    const plannedRows = new Map(planned.rows.map((row) => [row.label, row]));
    for (let row = section.firstRow; row < section.firstRow + section.rowCount; row += 1) {
      const plannedRow = plannedRows.get(rows.rowLabels[row]!);
      if (!plannedRow) continue;
      const first = rows.rowFirstSeat[row]!;
      const count = rows.rowSeatCount[row]!;
      const mark = (seatNumbers: readonly number[] | undefined, code: number) => {
        if (!seatNumbers?.length) return;
        const wanted = new Set(seatNumbers);
        for (let seat = first; seat < first + count; seat += 1) if (wanted.has(numbers[seat]!)) kinds[seat] = code;
      };
      mark(plannedRow.companion, seatKindCode.companion);
      // A seat listed as both is a wheelchair space.
      mark(plannedRow.accessible, seatKindCode.accessible);
    }
  }
  return kinds;
}

/** Whether the event has any wheelchair space or companion seat. */
export function hasAccessibleSeating(sections: readonly EventSection[]): boolean {
  return sections.some((section) => section.rows.some((row) => row.accessible?.length || row.companion?.length));
}
