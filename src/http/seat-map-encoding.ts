// The seat map as the HTTP API writes it: the availability document (2 bits a seat, raw
// DEFLATE, base64), the same in GET …/availability and the live stream's snapshot; the
// change document (GET …/availability?since=); and the entity tag of a map state.
import { deflateRawSync } from 'node:zlib';
import type { SeatMapState } from '../app/seat-maps.ts';
import { readSeatStatus } from '../domain/availability.ts';
import { seatIdOf } from '../domain/seat-map.ts';

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

/** The `encoding` of a change document: the seats that changed since a version, with their status now. */
export const availabilityChangesEncoding = 'seat-changes';

/**
 * The change document from version `since` to the state: the seats named, in seat order,
 * with their statuses in the state (as JSON text; GET …/availability?since=).
 */
export function availabilityChangesJson(state: SeatMapState, since: number, seatNos: Iterable<number>): string {
  const changes = [...seatNos]
    .sort((a, b) => a - b)
    .map((seatNo) => `{"seat_id":"${seatIdOf(seatNo)}","status":"${readSeatStatus(state.bits, seatNo)}"}`);
  return (
    `{"event_id":${JSON.stringify(state.event.id)},"version":${state.version},"seat_count":${state.event.seatCount},` +
    `"encoding":"${availabilityChangesEncoding}","since":${since},"changes":[${changes.join(',')}]}`
  );
}
