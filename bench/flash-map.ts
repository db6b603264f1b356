// The flash-sale buyers' copy of the seat map (bench/flash-buyers.ts): the availability
// answers (2 bits a seat, or the changes since a version), reading a seat's status in them,
// and the seats a pick-from-the-map buyer names.
import { inflateRawSync } from 'node:zlib';

export interface VenueLayout {
  sections: number;
  rows: number;
  seatsPerRow: number;
}

/** A seat's status in the availability bits (the service's layout): 0 free, 1 held, 2 booked. */
export const statusAt = (bits: Uint8Array, seatNo: number) => ((bits[seatNo >> 2] ?? 0) >> (6 - 2 * (seatNo & 3))) & 3;
const statusCodes: Record<string, number> = { available: 0, held: 1, booked: 2 };
export const setStatus = (bits: Uint8Array, seatNo: number, code: number) => {
  const shift = 6 - 2 * (seatNo & 3);
  if (seatNo >> 2 < bits.length) bits[seatNo >> 2] = (bits[seatNo >> 2]! & ~(3 << shift)) | (code << shift);
};

/** GET …/availability answers: the full map, or (asked with `since`, the service only) the changes since. */
export type AvailabilityAnswer =
  /** 2 bits a seat, raw DEFLATE, base64: the service's layout (the classic designs name it 2bit-msb-…). */
  | { encoding: '2bit-deflate-raw-base64' | '2bit-msb-deflate-raw-base64'; version?: number; data: string }
  | { encoding: 'seat-changes'; version: number; changes: { seat_id: string; status: string }[] };

/** Which kind of availability answer a buyer got (the requests' labels). */
export const availabilityAnswerKind = (status: number, body: string) =>
  status === 304 ? 'not-modified' : body.includes('"encoding":"seat-changes"') ? 'changes' : 'full';

/**
 * A buyer's copy of the map: updated from the changes since its version when the server
 * sends them, replaced by a full document otherwise. The classic designs send no version
 * and no ETag: their buyers read the whole map every time.
 */
export function takeAvailability(map: BuyerMap | null, answer: AvailabilityAnswer, etag: string | null): BuyerMap {
  if (answer.encoding === 'seat-changes') {
    if (!map) throw new Error('changes answered to a buyer who asked for the whole map');
    for (const change of answer.changes)
      setStatus(map.bits, Number(change.seat_id.slice(1)), statusCodes[change.status]!);
    return { bits: map.bits, version: answer.version, etag };
  }
  return {
    bits: new Uint8Array(inflateRawSync(Buffer.from(answer.data, 'base64'))),
    version: answer.version ?? null,
    etag,
  };
}

export interface BuyerMap {
  bits: Uint8Array;
  version: number | null;
  etag: string | null;
}

/**
 * 1 to 4 adjacent free seats: a row drawn with a preference for the front (row r with
 * probability falling as r grows), a section at random; the first row in that order, from
 * front to back, with a run of `want` free seats gets them (at a random place in a random
 * such run); with no such run anywhere, the longest run there is. Null when nothing is free.
 */
export function pickSeats(bits: Uint8Array, layout: VenueLayout, want: number, random: () => number): number[] | null {
  const firstRow = Math.floor(layout.rows * random() ** 3);
  const firstSection = Math.floor(layout.sections * random());
  let longest: { start: number; length: number } | null = null;
  for (let r = 0; r < layout.rows; r += 1) {
    const row = (firstRow + r) % layout.rows;
    for (let s = 0; s < layout.sections; s += 1) {
      const section = (firstSection + s) % layout.sections;
      const base = (section * layout.rows + row) * layout.seatsPerRow;
      const fits: { start: number; length: number }[] = [];
      let runStart = -1;
      for (let k = 0; k <= layout.seatsPerRow; k += 1) {
        const free = k < layout.seatsPerRow && statusAt(bits, base + k) === 0;
        if (free && runStart < 0) runStart = k;
        if (!free && runStart >= 0) {
          const run = { start: base + runStart, length: k - runStart };
          if (run.length >= want) fits.push(run);
          else if (!longest || run.length > longest.length) longest = run;
          runStart = -1;
        }
      }
      if (fits.length > 0) {
        const run = fits[Math.floor(random() * fits.length)]!;
        const start = run.start + Math.floor(random() * (run.length - want + 1));
        return Array.from({ length: want }, (_, i) => start + i);
      }
    }
  }
  return longest ? Array.from({ length: longest.length }, (_, i) => longest.start + i) : null;
}

/** 1 seat 25%, 2 seats 40%, 3 seats 20%, 4 seats 15%. */
export const seatsWanted = (random: () => number) => {
  const u = random();
  return u < 0.25 ? 1 : u < 0.65 ? 2 : u < 0.85 ? 3 : 4;
};

/** Whether some row has `count` adjacent free seats. */
export function hasRoom(bits: Uint8Array, layout: VenueLayout, count: number): boolean {
  const rowCount = layout.sections * layout.rows;
  for (let row = 0; row < rowCount; row += 1) {
    let run = 0;
    for (let k = 0; k < layout.seatsPerRow; k += 1) {
      run = statusAt(bits, row * layout.seatsPerRow + k) === 0 ? run + 1 : 0;
      if (run >= count) return true;
    }
  }
  return false;
}

/** Whether any seat is held (it may come back when its hold expires). */
export function anyHeld(bits: Uint8Array, seatCount: number): boolean {
  for (let seatNo = 0; seatNo < seatCount; seatNo += 1) if (statusAt(bits, seatNo) === 1) return true;
  return false;
}
