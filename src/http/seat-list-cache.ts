// GET …/seats: the full seat list, rendered as the API's JSON bytes and shared (a cache
// of built answers, so it lives with HTTP; the map it shows comes from app/seat-maps.ts).
import { readSeatStatus } from '../domain/availability.ts';
import { DomainError } from '../domain/errors.ts';
import type { SeatStatus } from '../domain/holds.ts';
import { expandSeatMap, type ExpandedRow } from '../domain/seat-map.ts';
import type { Deps } from '../app/deps.ts';
import { requireEvent } from '../app/events.ts';
import type { EventRecord } from '../app/ports/events.ts';
import { loadSeatMap, type SeatMapState } from '../app/seat-maps.ts';
import { seatMapTag } from './seat-map-encoding.ts';

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
const statusJson: Record<SeatStatus, string> = {
  available: '"available"',
  held: '"held"',
  booked: '"booked"',
  blocked: '"blocked"',
};

/** A built GET …/seats answer: the JSON as bytes, and the ETag of the map it shows. */
export interface SeatList {
  tag: string;
  json: Buffer;
}

/**
 * GET …/seats, the whole list: about 100 bytes a seat, and costly to build (a second of CPU
 * for 200,000 seats). So it is refused for events above settings.seatList.seatsMax (they
 * are pointed to …/availability, 2 bits a seat), and each event's list is built at most
 * once per settings.seatList.maxAgeMs: every request in that time, and every request that
 * arrives while it is being built, gets the same bytes (changes made meanwhile show in the
 * next build; the live stream has them at once). Lists of the last maxEvents events are kept.
 */
export class SeatListCache {
  private readonly built = new Map<string, { list: SeatList; builtAtMs: number; updatedAtMs: number }>();
  private readonly building = new Map<string, Promise<SeatList>>();
  private readonly renderer: SeatListRenderer;

  constructor(
    private readonly deps: Deps,
    private readonly maxEvents = 8,
  ) {
    this.renderer = new SeatListRenderer(maxEvents);
  }

  /** The list of a viewable event (EVENT_NOT_FOUND, or SEAT_LIST_TOO_LARGE above the limit). */
  async list(eventId: string): Promise<SeatList> {
    const event = await requireEvent(this.deps, eventId);
    const { seatsMax, maxAgeMs } = this.deps.settings.seatList;
    if (event.seatCount > seatsMax) {
      throw new DomainError(
        'SEAT_LIST_TOO_LARGE',
        `this event has ${event.seatCount} seats, more than the seat list gives (${seatsMax}): ` +
          'read their statuses from the availability document, and the seats from the event (sections and seat_ids)',
        {
          availability_url: `/v1/events/${event.id}/availability`,
          event_url: `/v1/events/${event.id}`,
          seat_count: event.seatCount,
          seat_list_seats_max: seatsMax,
        },
      );
    }
    const known = this.built.get(event.id);
    if (known && known.updatedAtMs === event.updatedAtMs && this.deps.clock.nowMs() < known.builtAtMs + maxAgeMs) {
      return known.list;
    }
    let building = this.building.get(event.id);
    if (!building) {
      building = this.build(event.id).finally(() => this.building.delete(event.id));
      this.building.set(event.id, building);
    }
    return building;
  }

  private async build(eventId: string): Promise<SeatList> {
    const state = await loadSeatMap(this.deps, eventId);
    const tag = seatMapTag(state);
    const known = this.built.get(eventId);
    // Unchanged since the last build (same version): the same bytes, only timed anew.
    const list = known?.list.tag === tag ? known.list : { tag, json: Buffer.from(this.renderer.render(state)) };
    rememberRecent(
      this.built,
      eventId,
      { list, builtAtMs: this.deps.clock.nowMs(), updatedAtMs: state.event.updatedAtMs },
      this.maxEvents,
    );
    return list;
  }
}

/**
 * GET …/seats as a JSON string, rendered from the event's (immutable) layout and the map's
 * bits. The layouts of the last maxEvents events are kept.
 */
class SeatListRenderer {
  private readonly layouts = new Map<string, RenderedRows>();

  constructor(private readonly maxEvents: number) {}

  render(state: SeatMapState): string {
    const layout = this.layoutOf(state.event);
    const parts: string[] = [];
    layout.rows.forEach((row, index) => {
      const prefix = layout.sectionJson[index]!;
      const price = layout.priceJson[index]!;
      const accessible = new Set(row.accessible);
      const companion = new Set(row.companion);
      for (let offset = 0; offset < row.seatCount; offset += 1) {
        const seatNo = row.firstSeatNo + offset;
        const status = statusJson[readSeatStatus(state.bits, seatNo)];
        const mark = accessible.has(offset + 1)
          ? ',"accessible":true'
          : companion.has(offset + 1)
            ? ',"companion":true'
            : '';
        parts.push(`{"seat_id":"s${seatNo}",${prefix},"number":${offset + 1},${price},"status":${status}${mark}}`);
      }
    });
    return `{"event_id":${JSON.stringify(state.event.id)},"version":${state.version},"seats":[${parts.join(',')}]}`;
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
    rememberRecent(this.layouts, event.id, layout, this.maxEvents);
    return layout;
  }
}

/** Keeps value under key as the newest entry; beyond max entries the oldest is forgotten. */
function rememberRecent<T>(map: Map<string, T>, key: string, value: T, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}
