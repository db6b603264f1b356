// The interfaces the use cases need from the outside world. Adapters implement them;
// times are epoch milliseconds throughout.
import type { ReservationStatus, SeatStatus } from '../domain/holds.ts';
import type { ExpandedSeatMap, PriceTier, SectionInput } from '../domain/seat-map.ts';
import type { WaitingRoomSettings } from '../domain/waiting-room.ts';

export interface Clock {
  nowMs(): number;
}

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
  priceTiers: PriceTier[];
  sections: SectionInput[];
  waitingRoom: WaitingRoomSettings;
  createdAtMs: number;
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

/** An organizer's change to an event; absent fields stay as they are. */
export interface EventPatch {
  name?: string;
  description?: string;
  category?: string;
  startsAtMs?: number;
  saleOpensAtMs?: number;
  maxSeatsPerUser?: number;
  waitingRoom?: WaitingRoomSettings;
  /** The new status, and the statuses it may be reached from (checked under the row lock). */
  status?: { to: EventStatus; from: EventStatus[] };
  venue?: Venue;
  venueId?: string;
  performerIds?: string[];
  /** A new seat map and tiers: only before the sale opens and before any hold. */
  seatMap?: { priceTiers: PriceTier[]; sections: SectionInput[]; expanded: ExpandedSeatMap };
}

export type EventUpdate =
  | { kind: 'updated'; event: EventRecord }
  | { kind: 'seat_map_locked' }
  | { kind: 'status_conflict'; status: EventStatus }
  | { kind: 'not_found' };

/** Venues, performers, event edits and search: PostgreSQL (or PGlite). */
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
  /** Applies the patch in one transaction; nowMs decides whether the seat map may change. */
  updateEvent(eventId: string, patch: EventPatch, nowMs: number): Promise<EventUpdate>;
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

export interface ReservationRecord {
  id: string;
  eventId: string;
  userId: string;
  /** As stored; see reservationStatusAt for what a client sees. */
  status: ReservationStatus;
  fencingToken: number;
  seatNos: number[];
  totalCents: number;
  currency: string;
  createdAtMs: number;
  expiresAtMs: number;
  bookingId: string | null;
}

export interface BookingRecord {
  id: string;
  reservationId: string;
  eventId: string;
  userId: string;
  seatNos: number[];
  totalCents: number;
  currency: string;
  createdAtMs: number;
}

export interface HoldCommand {
  reservationId: string;
  eventId: string;
  userId: string;
  seatNos: number[];
  nowMs: number;
  expiresAtMs: number;
  maxSeatsPerUser: number;
  currency: string;
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

export type HoldOutcome =
  | { kind: 'held'; reservation: ReservationRecord; seats: SeatDetail[]; changes: SeatState[] }
  | { kind: 'conflict'; seatNos: number[] }
  | { kind: 'user_limit'; heldOrBooked: number };

/** What a confirmation answered, kept under its idempotency key and replayed verbatim. */
export type StoredResponse =
  | { kind: 'booking'; body: Record<string, unknown> }
  | { kind: 'error'; code: string; detail: string; extensions: Record<string, unknown> };

export interface IdempotencyKeyRef {
  userId: string;
  key: string;
}

/** A claim on a key: only its holder may record a charge, complete or abandon the key. */
export interface IdempotencyLease extends IdempotencyKeyRef {
  lease: string;
}

export type IdempotencyClaim =
  /** chargeId: a charge an earlier holder of this key recorded before it died. */
  | { kind: 'claimed'; lease: IdempotencyLease; chargeId: string | null }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_flight' };

export interface ConfirmCommand {
  reservation: ReservationRecord;
  nowMs: number;
  chargeId: string;
  lease: IdempotencyLease;
  /**
   * Whose payment this is: the booking is made only while this payer and attempt are the
   * reservation's current ones (another confirmation may have taken the payment over).
   */
  payment: { payerKey: string; attempt: number };
  /** The answer stored under the key when the booking is made. */
  responseFor(booking: BookingRecord): StoredResponse;
  /**
   * The answer stored under the key when this charge does not book: the hold is gone
   * (expired, cancelled, confirmed), the event was cancelled, or another payer took over.
   */
  refusalFor(reason: ConfirmRefusalReason): StoredResponse;
}

export type ConfirmRefusalReason = Exclude<ReservationStatus, 'active'> | 'event_cancelled' | 'superseded';

export type ConfirmOutcome =
  | { kind: 'confirmed'; booking: BookingRecord; response: StoredResponse; changes: SeatState[] }
  /**
   * This charge did not book (the hold was gone, the event cancelled, or another payer took
   * over); the refusal is stored under the key, the charge is to be refunded.
   */
  | { kind: 'hold_lost'; response: StoredResponse; changes: SeatState[] }
  /** Another request took the key over: it, not this one, finishes (with the same charge). */
  | { kind: 'lease_lost' };

/** 'started' carries the payment attempt whose provider key the charge must use. */
export type PaymentStart = { kind: 'started'; attempt: number } | { kind: 'busy' } | { kind: 'ended' };

export interface ReservationToSettle {
  id: string;
  /** Attempts 0..lastAttempt may each have produced a charge. */
  lastAttempt: number;
}

export type CancelOutcome =
  { kind: 'cancelled'; changes: SeatState[] } | { kind: 'confirmed' } | { kind: 'already_ended' };

/** What one sweep ended: the reservations, and the seats it freed, per event. */
export interface ExpiredHolds {
  ended: number;
  changes: Map<string, SeatState[]>;
}

/** PostgreSQL (or PGlite): the judge of every seat. */
export interface BookingStore {
  createEvent(event: NewEvent): Promise<string>;
  findEvent(eventId: string): Promise<EventRecord | null>;
  /** Drops this process's copy of the event (after an edit). */
  forgetEvent(eventId: string): void;
  countSeats(eventId: string, nowMs: number): Promise<SeatCounts>;
  seatSnapshot(eventId: string, nowMs: number): Promise<SeatSnapshot>;
  seatDetails(eventId: string, seatNos: number[]): Promise<SeatDetail[]>;
  /** Every seat that is not in its initial state (available, never changed), as of nowMs. */
  seatStates(eventId: string, nowMs: number): Promise<SeatState[]>;
  hasEvents(): Promise<boolean>;

  hold(command: HoldCommand): Promise<HoldOutcome>;
  findReservation(reservationId: string): Promise<ReservationRecord | null>;
  /** Whether the user holds seats of the event at nowMs (an active, unexpired reservation). */
  hasLiveHold(eventId: string, userId: string, nowMs: number): Promise<boolean>;
  cancel(reservation: ReservationRecord, nowMs: number): Promise<CancelOutcome>;
  confirm(command: ConfirmCommand): Promise<ConfirmOutcome>;
  /** Ends up to batchSize reservations whose hold has passed. */
  expireDue(nowMs: number, batchSize: number): Promise<ExpiredHolds>;

  claimIdempotencyKey(
    ref: IdempotencyKeyRef,
    requestHash: string,
    nowMs: number,
    staleAfterMs: number,
  ): Promise<IdempotencyClaim>;
  recordCharge(lease: IdempotencyLease, chargeId: string): Promise<boolean>;
  /** Stores the final answer; false when the lease was lost to a takeover. */
  completeIdempotencyKey(lease: IdempotencyLease, response: StoredResponse): Promise<boolean>;
  /** After an unexpected error: a retry with the same request may take the key over at once. */
  abandonIdempotencyKey(lease: IdempotencyLease): Promise<void>;
  /** Forgets completed keys created before the given instant; returns how many. */
  purgeIdempotencyKeys(createdBeforeMs: number, batchSize: number): Promise<number>;

  /** Marks the hold as being paid by payerKey; 'busy' when another payer is under way. */
  beginPayment(reservationId: string, payerKey: string, nowMs: number, staleAfterMs: number): Promise<PaymentStart>;
  /**
   * The payer gave up after an unexpected error, its charge call over: the next payer may
   * continue under the same attempt (and so, at the provider, with the same charge).
   */
  releasePayment(reservationId: string, payerKey: string, attempt: number): Promise<void>;
  /** After a decline: clears the marker and moves to the next payment attempt (if still this payer's). */
  endDeclinedPayment(reservationId: string, payerKey: string, attempt: number): Promise<void>;
  /**
   * Reservations that ended before endedBeforeMs with charges to refund, not yet settled:
   * cancelled or expired ones that started paying (every attempt), and confirmed ones paid
   * by a later attempt than their first (the attempts before the paying one).
   */
  reservationsToSettle(endedBeforeMs: number, limit: number): Promise<ReservationToSettle[]>;
  markRefundsSettled(reservationId: string): Promise<void>;
  /** The charge that paid for the reservation's booking, if it has one. */
  bookedCharge(reservationId: string): Promise<string | null>;

  findBooking(bookingId: string): Promise<BookingRecord | null>;
  listBookings(userId: string, limit: number): Promise<BookingRecord[]>;

  ping(): Promise<void>;
}

export type ChargeOutcome = { kind: 'succeeded'; chargeId: string } | { kind: 'declined'; reason: string };

export interface ChargeRequest {
  /** Charges with the same key are one charge (as with Stripe's Idempotency-Key). */
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  paymentMethod: string;
  description: string;
}

export interface Payments {
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** Refunds a charge; refunding it again does nothing. */
  refund(chargeId: string): Promise<void>;
  /**
   * Refunds the successful charge made under this idempotency key; if none was made, voids
   * the key, so a charge sent under it that reaches the provider later is refused (as a
   * Stripe PaymentIntent is cancelled). After this, no charge under the key is kept.
   */
  refundByKey(idempotencyKey: string): Promise<void>;
}

/** 2 bits per seat in seat order (see domain/availability.ts) and the version it is at. */
export interface Availability {
  version: number;
  bits: Uint8Array;
  /**
   * Holds shown available because they ended before the read, not yet swept (a hold
   * ends exactly at its expiry, however late the sweeper). With version, tags the state.
   */
  lapsed: number;
}

export type GateAnswer =
  | { kind: 'passed' }
  | { kind: 'conflict'; seatNos: number[] }
  /** The gate could not answer (Redis unreachable): PostgreSQL alone decides. */
  | { kind: 'bypassed' };

/**
 * Refuses conflicting holds before PostgreSQL is asked. A pass takes the seats
 * provisionally, for a few seconds: the PostgreSQL decision then either settles them
 * (SeatMapCache.apply) or gives them back (abandon). Never the judge: a wrong pass is
 * refused by PostgreSQL, a provisional hold left behind by a dead process lapses.
 */
export interface HoldGate {
  tryHold(eventId: string, seatNos: number[], holder: string, nowMs: number): Promise<GateAnswer>;
  abandon(eventId: string, seatNos: number[], holder: string): Promise<void>;
}

/** The live seat map: PostgreSQL's seat states, written through on every change. */
export interface SeatMapCache {
  /** Applies changes PostgreSQL made, newest version per seat wins. Never throws. */
  apply(eventId: string, changes: SeatState[]): Promise<void>;
  /** The map, built from PostgreSQL on a miss; null when the cache cannot answer. */
  availability(eventId: string, seatCount: number, nowMs: number): Promise<Availability | null>;
}

export interface SeatChange {
  seatNo: number;
  status: SeatStatus;
}

export interface SeatChangeBatch {
  eventId: string;
  version: number;
  changes: SeatChange[];
}

export type FeedMessage =
  | ({ kind: 'changes' } & SeatChangeBatch)
  /** The map was rebuilt (after Redis came back): listeners take a fresh snapshot. */
  | { kind: 'reset'; eventId: string; version: number };

/** Every seat change of every process, in version order per event. */
export interface ChangeFeed {
  subscribe(listener: (message: FeedMessage) => void): () => void;
  /** The batches after version, oldest first; null when the log does not reach back that far. */
  changesSince(eventId: string, version: number): Promise<SeatChangeBatch[] | null>;
}

export type SeatBoardHealth = 'up' | 'down' | 'in-process';

/** The three hot-path roles; one adapter (Redis, or in-process) plays them all. */
export interface SeatBoard extends HoldGate, SeatMapCache, ChangeFeed {
  health(): SeatBoardHealth;
  close(): Promise<void>;
}

/** What a board rebuilds an event's map from: PostgreSQL. */
export type SeatStateLoader = (eventId: string) => Promise<{ seatCount: number; states: SeatState[] }>;

/** Where a buyer stands in an event's waiting room. */
export type QueueState =
  | { kind: 'waiting'; ahead: number }
  | { kind: 'admitted'; expiresAtMs: number }
  /** The admission was not used in time: joining again goes to the back of the line. */
  | { kind: 'expired'; expiredAtMs: number }
  | { kind: 'absent' };

export interface AdmissionLimits {
  nowMs: number;
  ratePerMs: number;
  burst: number;
  maxActiveShoppers: number | null;
  admissionWindowMs: number;
  batchMax: number;
}

/** The queue in front of a sale: Redis (sorted set, shared by every process), or in-process. */
export interface WaitingRoom {
  /**
   * Joins the line, or answers where the user already stands (one place per user). queueKey
   * orders the line: a random key in [0, 1) before the sale opens, null after (the next
   * arrival number, given out by the room).
   */
  join(eventId: string, userId: string, queueKey: number | null, nowMs: number): Promise<QueueState>;
  states(eventId: string, userIds: string[], nowMs: number): Promise<QueueState[]>;
  /**
   * The one logical admitter: atomically refills the event's meter and moves that many people
   * from the head of the line to the admitted. Any process may call it at any time.
   */
  admit(eventId: string, limits: AdmissionLimits): Promise<number>;
  /** The shopper is done (booked): their place under the cap is free for the next one. */
  finish(eventId: string, userId: string): Promise<void>;
  /** Events whose rooms someone joined (the admitter ticks these). */
  rooms(): Promise<string[]>;
  /** Keeps the room's data until untilMs and not much longer (Redis: the keys expire then). */
  retainUntil(eventId: string, untilMs: number): Promise<void>;
  /** Stops ticking an event's room (it ended, or its waiting room is off). */
  closeRoom(eventId: string): Promise<void>;
  waitingCount(eventId: string): Promise<number>;
  close(): Promise<void>;
}

export interface BucketRequest {
  key: string;
  ratePerSecond: number;
  burst: number;
}

/** Token buckets by key (a user, an address): shared across processes on Redis. */
export interface RateLimiter {
  /**
   * Takes one token from each bucket (one round trip for all of them where the store allows);
   * answers per bucket 0 if one was there, else the milliseconds until one is.
   */
  take(buckets: BucketRequest[], nowMs: number): Promise<number[]>;
  close(): Promise<void>;
}
