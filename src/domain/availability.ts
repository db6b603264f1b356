// The compact seat map: 2 bits per seat in seat order, most significant bits first, so
// seat n is bits 2n and 2n+1 of the byte string (byte n >> 2). This is exactly Redis's
// BITFIELD u2 #n layout, so the Redis map and the in-process one are the same bytes.
import type { SeatStatus } from './holds.ts';

export const statusCode: Record<SeatStatus, number> = { available: 0, held: 1, booked: 2, blocked: 3 };
const statusOfCode: SeatStatus[] = ['available', 'held', 'booked', 'blocked'];

export function availabilityBytes(seatCount: number): number {
  return Math.ceil(seatCount / 4);
}

export function readSeatStatus(bits: Uint8Array, seatNo: number): SeatStatus {
  const byte = bits[seatNo >> 2] ?? 0;
  return statusOfCode[(byte >> (6 - 2 * (seatNo & 3))) & 3]!;
}

export function writeSeatStatus(bits: Uint8Array, seatNo: number, status: SeatStatus): void {
  const shift = 6 - 2 * (seatNo & 3);
  const index = seatNo >> 2;
  bits[index] = (bits[index]! & ~(3 << shift)) | (statusCode[status] << shift);
}

/** A copy of bits, zero-padded or cut to exactly the size of seatCount seats. */
export function sizedBits(bits: Uint8Array, seatCount: number): Uint8Array {
  const sized = new Uint8Array(availabilityBytes(seatCount));
  sized.set(bits.subarray(0, sized.length));
  return sized;
}

/**
 * How many seats are still for sale in some sense: available now, or held (a hold may
 * lapse or be released). Booked and blocked seats are gone (a block may be released,
 * but that is the organizer's call, not the crowd's). Zero means the
 * sale has nothing left: the waiting room says "sold out".
 */
export function seatsLeft(bits: Uint8Array, seatCount: number): number {
  let left = 0;
  for (let seatNo = 0; seatNo < seatCount; seatNo += 1) {
    const byte = bits[seatNo >> 2] ?? 0;
    if (((byte >> (6 - 2 * (seatNo & 3))) & 2) === 0) left += 1;
  }
  return left;
}
