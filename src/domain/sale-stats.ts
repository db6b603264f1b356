// Figures of a sale that are pure arithmetic: seats counted by status from the compact
// seat map (domain/availability.ts: 2 bits per seat, most significant first).

export interface SeatStatusCounts {
  available: number;
  held: number;
  booked: number;
  blocked: number;
}

/** Seats by status (codes of domain/availability.ts). */
export function countSeatStatuses(bits: Uint8Array, seatCount: number): SeatStatusCounts {
  const counts = [0, 0, 0, 0];
  const wholeBytes = seatCount >> 2;
  // Four seats a byte: one table lookup per status and byte would cost more than this loop.
  for (let index = 0; index < wholeBytes; index += 1) {
    const byte = bits[index] ?? 0;
    counts[byte >> 6]! += 1;
    counts[(byte >> 4) & 3]! += 1;
    counts[(byte >> 2) & 3]! += 1;
    counts[byte & 3]! += 1;
  }
  for (let seatNo = wholeBytes << 2; seatNo < seatCount; seatNo += 1) {
    const byte = bits[seatNo >> 2] ?? 0;
    counts[(byte >> (6 - 2 * (seatNo & 3))) & 3]! += 1;
  }
  return { available: counts[0]!, held: counts[1]!, booked: counts[2]!, blocked: counts[3]! };
}
