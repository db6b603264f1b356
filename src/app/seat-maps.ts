// Reading the seat map: from the seat board (Redis or in-process), written through on
// every change, so the hot read path never touches PostgreSQL. PostgreSQL answers only
// while the board cannot (Redis down), and then the answer says so.
import { deflateRawSync } from 'node:zlib';
import { availabilityBytes, readSeatStatus, writeSeatStatus } from '../domain/availability.ts';
import type { SeatStatus } from '../domain/holds.ts';
import { expandSeatMap, type ExpandedRow } from '../domain/seat-map.ts';
import type { Deps } from './deps.ts';
import { requireEvent } from './events.ts';
import type { Availability, EventRecord } from './ports.ts';

export const availabilityEncoding = '2bit-deflate-raw-base64';

export interface SeatMapState extends Availability {
  event: EventRecord;
  /** 'cache' when the board answered; 'database' while it cannot. */
  source: 'cache' | 'database';
}

export async function loadSeatMap(deps: Deps, eventId: string): Promise<SeatMapState> {
  const event = await requireEvent(deps, eventId);
  const cached = await deps.board.availability(event.id, event.seatCount, deps.clock.nowMs());
  if (cached) return { ...cached, event, source: 'cache' };
  const states = await deps.store.seatStates(event.id, deps.clock.nowMs());
  const bits = new Uint8Array(availabilityBytes(event.seatCount));
  let version = 0;
  for (const state of states) {
    writeSeatStatus(bits, state.seatNo, state.status);
    if (state.version > version) version = state.version;
  }
  return { event, version, bits, lapsed: 0, source: 'database' };
}

/** The entity tag of a map state: cache versions and database versions never collide. */
export function seatMapTag(state: Pick<SeatMapState, 'version' | 'source' | 'lapsed' | 'event'>): string {
  // updatedAtMs: an organizer may replace the seat map before the sale (same version, new seats).
  return `"${state.source === 'cache' ? 'c' : 'd'}${state.version}.${state.lapsed}.${state.event.updatedAtMs}"`;
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

// ---------------------------------------------------------------- the full seat list

interface RenderedRows {
  eventId: string;
  updatedAtMs: number;
  rows: ExpandedRow[];
  /** Per row, the JSON fields every seat of the row shares. */
  sectionJson: string[];
  priceJson: string[];
}

const unlimited = {
  seatsPerEventMax: Infinity,
  sectionsPerEventMax: Infinity,
  rowsPerSectionMax: Infinity,
  seatsPerRowMax: Infinity,
};
const statusJson: Record<SeatStatus, string> = { available: '"available"', held: '"held"', booked: '"booked"' };

/**
 * GET …/seats as a JSON string, rendered from the event's (immutable) layout and the
 * map's bits. The last rendering per event is kept, so many readers of one version
 * share one string.
 */
export class SeatListRenderer {
  private readonly layouts = new Map<string, RenderedRows>();
  private readonly rendered = new Map<string, { tag: string; json: string }>();

  constructor(private readonly maxEvents = 8) {}

  render(state: SeatMapState): string {
    const tag = seatMapTag(state);
    const hit = this.rendered.get(state.event.id);
    if (hit?.tag === tag) return hit.json;
    const layout = this.layoutOf(state.event);
    const parts: string[] = [];
    layout.rows.forEach((row, index) => {
      const prefix = layout.sectionJson[index]!;
      const price = layout.priceJson[index]!;
      for (let offset = 0; offset < row.seatCount; offset += 1) {
        const seatNo = row.firstSeatNo + offset;
        const status = statusJson[readSeatStatus(state.bits, seatNo)];
        parts.push(`{"seat_id":"s${seatNo}",${prefix},"number":${offset + 1},${price},"status":${status}}`);
      }
    });
    const json = `{"event_id":${JSON.stringify(state.event.id)},"version":${state.version},"seats":[${parts.join(',')}]}`;
    this.remember(this.rendered, state.event.id, { tag, json });
    return json;
  }

  private layoutOf(event: EventRecord): RenderedRows {
    const known = this.layouts.get(event.id);
    if (known && known.updatedAtMs === event.updatedAtMs) return known;
    const { rows } = expandSeatMap(event.priceTiers, event.sections, unlimited);
    const layout = {
      eventId: event.id,
      updatedAtMs: event.updatedAtMs,
      rows,
      sectionJson: rows.map(
        (row) => `"section":${JSON.stringify(row.sectionName)},"row":${JSON.stringify(row.rowLabel)}`,
      ),
      priceJson: rows.map((row) => `"price_cents":${row.priceCents}`),
    };
    this.remember(this.layouts, event.id, layout);
    return layout;
  }

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > this.maxEvents) map.delete(map.keys().next().value!);
  }
}
