// The seat map as the HTTP API writes it: the availability document (2 bits a seat, raw
// DEFLATE, base64), the same in GET …/availability and the live stream's snapshot, and the
// entity tag of a map state.
import { deflateRawSync } from 'node:zlib';
import type { SeatMapState } from '../app/seat-maps.ts';

export const availabilityEncoding = '2bit-deflate-raw-base64';

/** The entity tag of a map state: cache versions and database versions never collide. */
export function seatMapTag(state: Pick<SeatMapState, 'version' | 'source' | 'lapsedSeatNos' | 'event'>): string {
  // updatedAtMs: an organizer may replace the seat map before the sale (same version, new seats).
  const { source, version, lapsedSeatNos, event } = state;
  return `"${source === 'cache' ? 'c' : 'd'}${version}.${lapsedSeatNos.length}.${event.updatedAtMs}"`;
}

export function availabilityView(state: SeatMapState) {
  return {
    event_id: state.event.id,
    version: state.version,
    seat_count: state.event.seatCount,
    encoding: availabilityEncoding,
    data: deflateRawSync(state.bits).toString('base64'),
  };
}
