// Venues, performers and event search. Times are epoch milliseconds.
import type { EventRecord } from './events.ts';

export interface EventCursor {
  startsAtMs: number;
  id: string;
}

export interface EventFilter {
  city?: string;
  category?: string;
  fromMs?: number;
  toMs?: number;
  /** Events whose price range meets [priceMinCents, priceMaxCents]. */
  priceMinCents?: number;
  priceMaxCents?: number;
  /** Only events with at least one seat available at nowMs. */
  availableAtMs?: number;
  /** Only this organizer's events, in every status (else published ones only). */
  organizerId?: string;
  limit: number;
}

export interface DateSearch extends EventFilter {
  after?: EventCursor;
}

/** Relevance order: score (descending), then id; corrected: the typo-corrected query the walk searches. */
export interface RelevanceCursor {
  score: number;
  id: string;
  corrected: string | null;
}

/** A renamed venue or performer, and the events that show its name. */
export type Renamed<K extends string, T> = { [key in K]: T } & { eventIds: string[] };

export type TextSearch = EventFilter & { text: string } & (
    { order: 'relevance'; after?: RelevanceCursor } | { order: 'date'; after?: EventCursor }
  );

export interface VenueFields {
  name: string;
  city: string;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  capacity: number | null;
}

export interface VenueRecord extends VenueFields {
  id: string;
  organizerId: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface PerformerRecord {
  id: string;
  organizerId: string;
  name: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface Suggestion {
  kind: 'event' | 'performer' | 'venue';
  id: string;
  name: string;
}

/**
 * Venues, performers and search: PostgreSQL (or PGlite). A rename answers the events that
 * show the name (their cached copies are dropped by the event cache).
 */
export interface CatalogStore {
  createVenue(organizerId: string, fields: VenueFields, nowMs: number): Promise<VenueRecord>;
  findVenue(venueId: string): Promise<VenueRecord | null>;
  updateVenue(
    venueId: string,
    fields: Partial<VenueFields>,
    nowMs: number,
  ): Promise<Renamed<'venue', VenueRecord> | null>;
  listVenues(organizerId: string, limit: number): Promise<VenueRecord[]>;
  createPerformer(organizerId: string, name: string, nowMs: number): Promise<PerformerRecord>;
  findPerformer(performerId: string): Promise<PerformerRecord | null>;
  updatePerformer(
    performerId: string,
    name: string,
    nowMs: number,
  ): Promise<Renamed<'performer', PerformerRecord> | null>;
  listPerformers(organizerId: string, limit: number): Promise<PerformerRecord[]>;
  listByDate(search: DateSearch): Promise<EventRecord[]>;
  searchText(search: TextSearch): Promise<(EventRecord & { score: number; corrected: string | null })[]>;
  suggest(text: string, limit: number): Promise<Suggestion[]>;
}

/** Short-lived answers to hot catalog queries, dropped whenever the catalog changes. */
export interface CatalogCache {
  /** The answer, if any, and the catalog generation it was looked up in. */
  get(key: string): Promise<{ value: string | null; generation: string }>;
  /** Stores an answer computed in that generation (a newer generation never sees it). */
  set(key: string, value: string, generation: string): Promise<void>;
  /** Every cached answer is stale from now on (in every process). */
  invalidate(): Promise<void>;
  close(): Promise<void>;
}
