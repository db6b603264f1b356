// Use cases for organizers creating and editing events, and for buyers browsing and
// searching them. Drafts are their organizer's alone: to anyone else they do not exist.
import { DomainError } from '../domain/errors.ts';
import { isStorableInstant, parseInstant } from '../domain/instants.ts';
import { isUuid } from '../domain/ids.ts';
import { expandSeatMap, type PriceTier, type SectionInput } from '../domain/seat-map.ts';
import { waitingRoomOff, waitingRoomSettings, type WaitingRoomInput } from '../domain/waiting-room.ts';
import type { Deps } from './deps.ts';
import type { EventCursor, EventFilter, RelevanceCursor, Suggestion } from './ports/catalog.ts';
import type { EventPatch, EventRecord, EventStatus } from './ports/events.ts';
import { eventDetailView, eventSummaryView } from './views.ts';

export interface CreateEventInput {
  name: string;
  category: string;
  description?: string;
  status?: 'draft' | 'published';
  starts_at: string;
  venue?: { name: string; city: string };
  venue_id?: string;
  performer_ids?: string[];
  sale_opens_at: string;
  max_seats_per_user: number;
  max_seats_per_card?: number | null;
  price_tiers: PriceTier[];
  seat_map: { sections: SectionInput[] };
  waiting_room?: WaitingRoomInput;
  refund_policy?: RefundPolicyInput | null;
}

/** As the API takes it; null (or absent at creation): buyers cannot cancel. */
export interface RefundPolicyInput {
  buyer_cancel_until_hours: number;
  fee_percent?: number;
}

function refundPolicyOf(input: RefundPolicyInput | null | undefined) {
  if (!input) return null;
  return { buyerCancelUntilHours: input.buyer_cancel_until_hours, feePercent: input.fee_percent ?? 0 };
}

const invalid = (path: string, message: string, detail = `${path.slice(1)} ${message}`) =>
  new DomainError('VALIDATION_FAILED', detail, { errors: [{ path, message }] });

function assertSaleBeforeStart(saleOpensAtMs: number, startsAtMs: number): void {
  if (saleOpensAtMs >= startsAtMs) {
    throw invalid('/sale_opens_at', 'must be before starts_at', 'the sale must open before the event starts');
  }
}

/** The venue an event names: inline, or one of the organizer's catalog venues. */
async function resolveVenue(
  deps: Deps,
  organizerId: string,
  input: { venue?: CreateEventInput['venue']; venue_id?: string },
) {
  if ((input.venue === undefined) === (input.venue_id === undefined)) {
    throw invalid('/venue', 'give either venue or venue_id', 'give either venue {name, city} or venue_id');
  }
  if (input.venue) return { venue: input.venue, venueId: null };
  const venue = await deps.catalog.findVenue(input.venue_id!);
  if (!venue || venue.organizerId !== organizerId) throw invalid('/venue_id', 'is not one of your venues');
  return { venue: { name: venue.name, city: venue.city }, venueId: venue.id };
}

async function resolvePerformers(deps: Deps, organizerId: string, ids: string[]): Promise<string[]> {
  if (new Set(ids).size !== ids.length) throw invalid('/performer_ids', 'must not repeat a performer');
  for (const [index, id] of ids.entries()) {
    const performer = await deps.catalog.findPerformer(id);
    if (!performer || performer.organizerId !== organizerId) {
      throw invalid(`/performer_ids/${index}`, 'is not one of your performers');
    }
  }
  return ids;
}

export async function createEvent(deps: Deps, organizerId: string, input: CreateEventInput) {
  const startsAtMs = parseInstant(input.starts_at, '/starts_at');
  const saleOpensAtMs = parseInstant(input.sale_opens_at, '/sale_opens_at');
  assertSaleBeforeStart(saleOpensAtMs, startsAtMs);
  const seatMap = expandSeatMap(input.price_tiers, input.seat_map.sections, deps.settings.seatMapLimits);
  const { venue, venueId } = await resolveVenue(deps, organizerId, input);
  const performerIds = await resolvePerformers(deps, organizerId, input.performer_ids ?? []);
  const eventId = await deps.events.createEvent({
    organizerId,
    name: input.name,
    category: input.category,
    description: input.description ?? '',
    status: input.status ?? 'published',
    startsAtMs,
    venue,
    venueId,
    performerIds,
    saleOpensAtMs,
    maxSeatsPerUser: input.max_seats_per_user,
    maxSeatsPerCard: input.max_seats_per_card ?? null,
    priceTiers: input.price_tiers,
    sections: input.seat_map.sections,
    seatMap,
    waitingRoom: input.waiting_room ? waitingRoomSettings(input.waiting_room, waitingRoomOff) : waitingRoomOff,
    refundPolicy: refundPolicyOf(input.refund_policy),
    createdAtMs: deps.clock.nowMs(),
  });
  return { event_id: eventId, seat_count: seatMap.seatCount, status: input.status ?? 'published' };
}

export interface UpdateEventInput {
  name?: string;
  category?: string;
  description?: string;
  status?: EventStatus;
  starts_at?: string;
  sale_opens_at?: string;
  max_seats_per_user?: number;
  max_seats_per_card?: number | null;
  venue?: { name: string; city: string };
  venue_id?: string;
  performer_ids?: string[];
  price_tiers?: PriceTier[];
  seat_map?: { sections: SectionInput[] };
  waiting_room?: WaitingRoomInput;
  refund_policy?: RefundPolicyInput | null;
}

// draft -> published -> cancelled; a draft may also be cancelled. Nothing comes back.
const statuses: EventStatus[] = ['draft', 'published', 'cancelled'];
const allowedMoves: Record<EventStatus, EventStatus[]> = {
  draft: ['draft', 'published', 'cancelled'],
  published: ['published', 'cancelled'],
  cancelled: ['cancelled'],
};

export async function updateEvent(deps: Deps, organizerId: string, eventId: string, input: UpdateEventInput) {
  const event = await requireOwnEvent(deps, organizerId, eventId);
  const patch: EventPatch = {
    name: input.name,
    category: input.category,
    description: input.description,
    maxSeatsPerUser: input.max_seats_per_user,
    maxSeatsPerCard: input.max_seats_per_card,
    waitingRoom: input.waiting_room && waitingRoomSettings(input.waiting_room, event.waitingRoom),
    refundPolicy: input.refund_policy === undefined ? undefined : refundPolicyOf(input.refund_policy),
  };
  if (input.status !== undefined) {
    const to = input.status;
    patch.status = { to, from: statuses.filter((from) => allowedMoves[from].includes(to)) };
  }
  if (input.starts_at !== undefined) patch.startsAtMs = parseInstant(input.starts_at, '/starts_at');
  if (input.sale_opens_at !== undefined) patch.saleOpensAtMs = parseInstant(input.sale_opens_at, '/sale_opens_at');
  assertSaleBeforeStart(patch.saleOpensAtMs ?? event.saleOpensAtMs, patch.startsAtMs ?? event.startsAtMs);
  if (input.venue !== undefined || input.venue_id !== undefined) {
    const resolved = await resolveVenue(deps, organizerId, input);
    patch.venue = resolved.venue;
    patch.venueId = resolved.venueId ?? undefined;
  }
  if (input.performer_ids !== undefined)
    patch.performerIds = await resolvePerformers(deps, organizerId, input.performer_ids);
  if ((input.price_tiers === undefined) !== (input.seat_map === undefined)) {
    throw invalid(
      '/seat_map',
      'comes with price_tiers',
      'a new seat map comes with its price_tiers, and the other way round',
    );
  }
  if (input.price_tiers && input.seat_map) {
    const expanded = expandSeatMap(input.price_tiers, input.seat_map.sections, deps.settings.seatMapLimits);
    patch.seatMap = { priceTiers: input.price_tiers, sections: input.seat_map.sections, expanded };
  }
  const nowMs = deps.clock.nowMs();
  const outcome = await deps.events.updateEvent(event.id, patch, nowMs);
  if (outcome.kind === 'not_found') throw new DomainError('EVENT_NOT_FOUND', `no event ${eventId}`);
  if (outcome.kind === 'status_conflict') {
    throw new DomainError('EVENT_STATUS_CONFLICT', `a ${outcome.status} event cannot become ${input.status}`, {
      current_status: outcome.status,
    });
  }
  if (outcome.kind === 'seat_map_locked') {
    throw new DomainError(
      'SEAT_MAP_LOCKED',
      'the seat map can change only before the sale opens and before any seat was held',
    );
  }
  await deps.board.apply(event.id, outcome.changes);
  return eventDetailView(outcome.event, await deps.events.countSeats(event.id, nowMs), nowMs, true);
}

// ---------------------------------------------------------------- browsing and search

export interface ListEventsQuery {
  q?: string;
  city?: string;
  category?: string;
  from?: string;
  to?: string;
  price_min?: number;
  price_max?: number;
  available?: boolean;
  sort?: 'relevance' | 'date';
  cursor?: string;
  limit?: number;
}

export const eventsPageSizeDefault = 20;

type EventsPage = { events: ReturnType<typeof eventSummaryView>[]; next_cursor: string | null };

/**
 * One page of published events (or, with organizerId, all of that organizer's). With q:
 * ranked by relevance unless sort=date. Keyset pagination: a page's cursor names the last
 * row's sort key, so rows inserted meanwhile neither repeat nor shift later pages.
 */
export async function listEvents(deps: Deps, query: ListEventsQuery, organizerId?: string) {
  const sort = query.sort ?? (query.q !== undefined ? 'relevance' : 'date');
  if (sort === 'relevance' && query.q === undefined) throw invalid('/sort', 'relevance needs q');
  const cacheKey = organizerId ? null : JSON.stringify(['events', sort, Object.entries(query).sort()]);
  const cached = cacheKey ? await deps.catalogCache.get(cacheKey) : null;
  if (cached?.value) return JSON.parse(cached.value) as EventsPage;

  const limit = query.limit ?? eventsPageSizeDefault;
  const fromMs = query.from === undefined ? undefined : parseInstant(query.from, '/from');
  const toMs = query.to === undefined ? undefined : parseInstant(query.to, '/to');
  if (fromMs !== undefined && toMs !== undefined && toMs < fromMs) {
    throw invalid('/to', 'must not be before from', '"to" must not be before "from"');
  }
  if (query.price_min !== undefined && query.price_max !== undefined && query.price_max < query.price_min) {
    throw invalid('/price_max', 'must not be below price_min', '"price_max" must not be below "price_min"');
  }
  const filter: EventFilter = {
    city: query.city,
    category: query.category,
    fromMs,
    toMs,
    priceMinCents: query.price_min,
    priceMaxCents: query.price_max,
    availableAtMs: query.available ? deps.clock.nowMs() : undefined,
    organizerId,
    limit: limit + 1, // one extra row tells whether another page exists
  };
  let page: EventRecord[];
  let nextCursor: string | null = null;
  if (sort === 'relevance') {
    const found = await deps.catalog.searchText({
      ...filter,
      text: query.q!,
      order: 'relevance',
      after: query.cursor === undefined ? undefined : decodeRelevanceCursor(query.cursor),
    });
    page = found.slice(0, limit);
    const last = found[limit - 1];
    if (found.length > limit && last) {
      nextCursor = encodeCursor(
        last.corrected === null ? ['r', last.score, last.id] : ['t', last.score, last.id, last.corrected],
      );
    }
  } else {
    const after = query.cursor === undefined ? undefined : decodeDateCursor(query.cursor);
    const found = await (query.q === undefined
      ? deps.catalog.listByDate({ ...filter, after })
      : deps.catalog.searchText({ ...filter, text: query.q, order: 'date', after }));
    page = found.slice(0, limit);
    const last = page[page.length - 1];
    if (found.length > limit && last) nextCursor = encodeCursor([last.startsAtMs, last.id]);
  }
  const answer: EventsPage = { events: page.map(eventSummaryView), next_cursor: nextCursor };
  if (cacheKey && cached) await deps.catalogCache.set(cacheKey, JSON.stringify(answer), cached.generation);
  return answer;
}

export async function suggest(deps: Deps, text: string, limit: number) {
  const key = JSON.stringify(['suggest', text, limit]);
  const cached = await deps.catalogCache.get(key);
  if (cached.value) return JSON.parse(cached.value) as { suggestions: Suggestion[] };
  const found = await deps.catalog.suggest(text, limit);
  const answer = { suggestions: found.map((item) => ({ kind: item.kind, id: item.id, name: item.name })) };
  await deps.catalogCache.set(key, JSON.stringify(answer), cached.generation);
  return answer;
}

function encodeCursor(value: unknown[]): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeCursorValue(text: string): unknown {
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const badCursor = () => invalid('/cursor', 'invalid cursor', 'cursor is not one this service issued for this sort');

function decodeDateCursor(text: string): EventCursor {
  const value = decodeCursorValue(text);
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
  throw badCursor();
}

function decodeRelevanceCursor(text: string): RelevanceCursor {
  const value = decodeCursorValue(text);
  if (
    Array.isArray(value) &&
    typeof value[1] === 'number' &&
    Number.isFinite(value[1]) &&
    typeof value[2] === 'string' &&
    isUuid(value[2])
  ) {
    if (value[0] === 'r' && value.length === 3) return { score: value[1], id: value[2], corrected: null };
    // A typo walk's corrected words: at most 8 words of letters and digits, as the search makes them.
    if (
      value[0] === 't' &&
      value.length === 4 &&
      typeof value[3] === 'string' &&
      /^[\p{L}\p{N} ]{1,400}$/u.test(value[3])
    ) {
      return { score: value[1], id: value[2], corrected: value[3] };
    }
  }
  throw badCursor();
}

// ---------------------------------------------------------------- one event

/** A published or cancelled event; a draft only for its organizer (404 for anyone else). */
export async function requireEvent(deps: Deps, eventId: string, viewerId?: string) {
  const event = await deps.events.findEvent(eventId);
  if (!event || (event.status === 'draft' && event.organizerId !== viewerId)) {
    throw new DomainError('EVENT_NOT_FOUND', `no event ${eventId}`);
  }
  return event;
}

export async function requireOwnEvent(deps: Deps, organizerId: string, eventId: string) {
  const event = await deps.events.findEvent(eventId);
  if (!event || event.organizerId !== organizerId) throw new DomainError('EVENT_NOT_FOUND', `no event ${eventId}`);
  return event;
}

/** An event buyers can hold seats of: published (drafts do not exist, cancelled ones 409). */
export async function requireEventOnSale(deps: Deps, eventId: string) {
  const event = await requireEvent(deps, eventId);
  if (event.status === 'cancelled') throw new DomainError('EVENT_CANCELLED', 'this event is cancelled');
  return event;
}

export async function getEvent(deps: Deps, eventId: string, viewerId?: string) {
  const event = await requireEvent(deps, eventId, viewerId);
  const nowMs = deps.clock.nowMs();
  const forOrganizer = viewerId !== undefined && viewerId === event.organizerId;
  return eventDetailView(event, await deps.events.countSeats(event.id, nowMs), nowMs, forOrganizer);
}
