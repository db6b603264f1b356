// Use cases for organizers creating events and buyers browsing them.
import { DomainError } from '../domain/errors.ts';
import { isStorableInstant, parseInstant } from '../domain/instants.ts';
import { isUuid } from '../domain/ids.ts';
import { expandSeatMap, type PriceTier, type SectionInput } from '../domain/seat-map.ts';
import type { Deps } from './deps.ts';
import type { EventCursor } from './ports.ts';
import { eventDetailView, eventSummaryView } from './views.ts';

export interface CreateEventInput {
  name: string;
  category: string;
  starts_at: string;
  venue: { name: string; city: string };
  sale_opens_at: string;
  max_seats_per_user: number;
  price_tiers: PriceTier[];
  seat_map: { sections: SectionInput[] };
}

export async function createEvent(deps: Deps, organizerId: string, input: CreateEventInput) {
  const startsAtMs = parseInstant(input.starts_at, '/starts_at');
  const saleOpensAtMs = parseInstant(input.sale_opens_at, '/sale_opens_at');
  if (saleOpensAtMs >= startsAtMs) {
    throw new DomainError('VALIDATION_FAILED', 'the sale must open before the event starts', {
      errors: [{ path: '/sale_opens_at', message: 'must be before starts_at' }],
    });
  }
  const seatMap = expandSeatMap(input.price_tiers, input.seat_map.sections, deps.settings.seatMapLimits);
  const eventId = await deps.store.createEvent({
    organizerId,
    name: input.name,
    category: input.category,
    startsAtMs,
    venue: input.venue,
    saleOpensAtMs,
    maxSeatsPerUser: input.max_seats_per_user,
    priceTiers: input.price_tiers,
    sections: input.seat_map.sections,
    seatMap,
    createdAtMs: deps.clock.nowMs(),
  });
  return { event_id: eventId, seat_count: seatMap.seatCount };
}

export interface ListEventsQuery {
  q?: string;
  city?: string;
  category?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
}

export const eventsPageSizeDefault = 20;

export async function listEvents(deps: Deps, query: ListEventsQuery) {
  const limit = query.limit ?? eventsPageSizeDefault;
  const fromMs = query.from === undefined ? undefined : parseInstant(query.from, '/from');
  const toMs = query.to === undefined ? undefined : parseInstant(query.to, '/to');
  if (fromMs !== undefined && toMs !== undefined && toMs < fromMs) {
    throw new DomainError('VALIDATION_FAILED', '"to" must not be before "from"', {
      errors: [{ path: '/to', message: 'must not be before from' }],
    });
  }
  // One extra row tells whether another page exists without a count query.
  const events = await deps.store.listEvents({
    text: query.q,
    city: query.city,
    category: query.category,
    fromMs,
    toMs,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    limit: limit + 1,
  });
  const page = events.slice(0, limit);
  const last = page[page.length - 1];
  return {
    events: page.map(eventSummaryView),
    next_cursor: events.length > limit && last ? encodeCursor({ startsAtMs: last.startsAtMs, id: last.id }) : null,
  };
}

function encodeCursor(cursor: EventCursor): string {
  return Buffer.from(JSON.stringify([cursor.startsAtMs, cursor.id])).toString('base64url');
}

function decodeCursor(text: string): EventCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      isStorableInstant(value[0]) &&
      typeof value[1] === 'string' &&
      isUuid(value[1])
    ) {
      return { startsAtMs: value[0], id: value[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw new DomainError('VALIDATION_FAILED', 'cursor is not one this service issued', {
    errors: [{ path: '/cursor', message: 'invalid cursor' }],
  });
}

export async function requireEvent(deps: Deps, eventId: string) {
  const event = await deps.store.findEvent(eventId);
  if (!event) throw new DomainError('EVENT_NOT_FOUND', `no event ${eventId}`);
  return event;
}

export async function getEvent(deps: Deps, eventId: string) {
  const event = await requireEvent(deps, eventId);
  const nowMs = deps.clock.nowMs();
  return eventDetailView(event, await deps.store.countSeats(event.id, nowMs), nowMs);
}
