// Reading the seat map: from the seat board (Redis or in-process), written through on
// every change, so the hot read path never touches PostgreSQL. PostgreSQL answers only
// while the board cannot (Redis down), and then the answer says so. How the map is
// written on the wire (DEFLATE, base64, ETags) is http/'s (http/seat-map-encoding.ts).
import { availabilityBytes, writeSeatStatus } from '../domain/availability.ts';
import type { Deps } from './deps.ts';
import { requireEvent } from './events.ts';
import type { EventRecord } from './ports/events.ts';
import type { Availability } from './ports/seat-board.ts';

export interface SeatMapState extends Availability {
  event: EventRecord;
  /** 'cache' when the board answered; 'database' while it cannot. */
  source: 'cache' | 'database';
}

export async function loadSeatMap(deps: Deps, eventId: string): Promise<SeatMapState> {
  return readSeatMap(deps, await requireEvent(deps, eventId));
}

/** The map of an event already looked up (requireEvent). */
export async function readSeatMap(deps: Deps, event: EventRecord): Promise<SeatMapState> {
  const cached = await deps.board.availability(event.id, event.seatCount, deps.clock.nowMs());
  if (cached) return { ...cached, event, source: 'cache' };
  const states = await deps.events.seatStates(event.id, deps.clock.nowMs());
  const bits = new Uint8Array(availabilityBytes(event.seatCount));
  let version = 0;
  for (const state of states) {
    writeSeatStatus(bits, state.seatNo, state.status);
    if (state.version > version) version = state.version;
  }
  return { event, version, bits, lapsedSeatNos: [], source: 'database' };
}

/**
 * Whether two readings show the same state of the map: the same source, version, lapsed
 * holds and seat layout (what its ETag says, http/seat-map-encoding.ts).
 */
export function sameMapState(
  a: Pick<SeatMapState, 'version' | 'source' | 'lapsedSeatNos' | 'event'>,
  b: Pick<SeatMapState, 'version' | 'source' | 'lapsedSeatNos' | 'event'>,
): boolean {
  return (
    a.source === b.source &&
    a.version === b.version &&
    a.lapsedSeatNos.length === b.lapsedSeatNos.length &&
    a.event.updatedAtMs === b.event.updatedAtMs
  );
}
