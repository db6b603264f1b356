// Events and their seat maps: what an organizer creates and edits, and every seat's state
// as PostgreSQL recorded it. Times are epoch milliseconds.
import type { SeatStatus } from '../../domain/holds.ts';
import type { ExpandedSeatMap, PriceTier, SectionInput } from '../../domain/seat-map.ts';
import type { WaitingRoomSettings } from '../../domain/waiting-room.ts';

export interface Venue {
  name: string;
  city: string;
}

export type EventStatus = 'draft' | 'published' | 'cancelled';

/** What an organizer says about an event; stored as given. */
interface EventFields {
  organizerId: string;
  name: string;
  category: string;
  description: string;
  status: EventStatus;
  startsAtMs: number;
  venue: Venue;
  /** The catalog venue the event is at, when it names one (venue then mirrors it). */
  venueId: string | null;
  performerIds: string[];
  saleOpensAtMs: number;
  maxSeatsPerUser: number;
  /** The most seats one payment card (by its fingerprint) pays for, whatever the accounts; null: no limit. */
  maxSeatsPerCard: number | null;
  priceTiers: PriceTier[];
  sections: SectionInput[];
  waitingRoom: WaitingRoomSettings;
  /** Whether and until when buyers may cancel, and the fee kept; null: they may not. */
  refundPolicy: RefundPolicy | null;
  createdAtMs: number;
}

export interface RefundPolicy {
  /** Buyers may cancel until this many hours before the event starts. */
  buyerCancelUntilHours: number;
  /** Kept from each refund, 0–100. */
  feePercent: number;
}

export interface NewEvent extends EventFields {
  seatMap: ExpandedSeatMap;
}

export interface EventRecord extends EventFields {
  id: string;
  currency: string;
  seatCount: number;
  performers: { id: string; name: string }[];
  priceMinCents: number;
  priceMaxCents: number;
  updatedAtMs: number;
}

export interface SeatCounts {
  available: number;
  held: number;
  booked: number;
  /** Off sale in an organizer's block. */
  blocked: number;
}

export interface SeatDetail {
  seatNo: number;
  section: string;
  row: string;
  number: number;
  priceCents: number;
}

export interface SeatSnapshot {
  version: number;
  seats: (SeatDetail & { status: SeatStatus })[];
}

/**
 * A seat's state as PostgreSQL recorded it. version is the seat row's version (from one
 * sequence, so it only grows): mirrors apply states newest-version-wins, in any order.
 */
export interface SeatState {
  seatNo: number;
  version: number;
  status: SeatStatus;
  /** For a held seat: the reservation holding it and when the hold ends. */
  holder: string | null;
  expiresAtMs: number | null;
}

/** An organizer's change to an event; absent fields stay as they are. */
export interface EventPatch {
  name?: string;
  description?: string;
  category?: string;
  startsAtMs?: number;
  saleOpensAtMs?: number;
  maxSeatsPerUser?: number;
  maxSeatsPerCard?: number | null;
  waitingRoom?: WaitingRoomSettings;
  refundPolicy?: RefundPolicy | null;
  /** The new status, and the statuses it may be reached from (checked under the row lock). */
  status?: { to: EventStatus; from: EventStatus[] };
  venue?: Venue;
  venueId?: string;
  performerIds?: string[];
  /** A new seat map and tiers: only before the sale opens and before any hold. */
  seatMap?: { priceTiers: PriceTier[]; sections: SectionInput[]; expanded: ExpandedSeatMap };
}

export type EventUpdate =
  /** changes: seats whose state the live map must take anew (blocked seats of a replaced map, now free). */
  | { kind: 'updated'; event: EventRecord; changes: SeatState[] }
  | { kind: 'seat_map_locked' }
  | { kind: 'status_conflict'; status: EventStatus }
  | { kind: 'not_found' };

/**
 * Events and seat maps: PostgreSQL (or PGlite). findEvent may answer from a short-lived
 * copy (adapters/cache/event-cache.ts); updateEvent drops it.
 */
export interface EventStore {
  createEvent(event: NewEvent): Promise<string>;
  findEvent(eventId: string): Promise<EventRecord | null>;
  /** Applies the patch in one transaction; nowMs decides whether the seat map may change. */
  updateEvent(eventId: string, patch: EventPatch, nowMs: number): Promise<EventUpdate>;
  countSeats(eventId: string, nowMs: number): Promise<SeatCounts>;
  seatSnapshot(eventId: string, nowMs: number): Promise<SeatSnapshot>;
  seatDetails(eventId: string, seatNos: number[]): Promise<SeatDetail[]>;
  /**
   * Every seat that is not in its initial state (available, never changed), as of nowMs;
   * within seat numbers from..to (inclusive) when given.
   */
  seatStates(eventId: string, nowMs: number, range?: { from: number; to: number }): Promise<SeatState[]>;
  hasEvents(): Promise<boolean>;
}
