// The caches in front of the catalog, kept right by the writes themselves so no use case
// has to remember them:
// - the one short-lived copy of each event a process keeps. Every hold reads its event; in
//   a flash sale that is one row read thousands of times a second. An edit is seen at once
//   by the process that made it (the wrappers below drop the copies it touched) and within
//   the TTL by the others. Freshness is wall-clock time, not business time: the TTL runs
//   on the system clock even when the use cases run on a test clock;
// - the cached answers to hot catalog queries (CatalogCache, shared by every process on
//   Redis): every successful write to events, venues or performers invalidates them, after
//   it committed.
import { isUuid } from '../../domain/ids.ts';
import type { CatalogStore } from '../../app/ports/catalog.ts';
import type { EventPatch, EventRecord, EventStore, EventUpdate, NewEvent } from '../../app/ports/events.ts';

export interface EventCacheOptions {
  ttlMs: number;
  entriesMax: number;
  /** Makes every cached catalog answer stale (CatalogCache.invalidate). */
  catalogChanged: () => Promise<void>;
  /** Wall-clock milliseconds (Date.now unless a test says otherwise). */
  nowMs?: () => number;
}

/** An EventStore whose findEvent answers from the copy; updateEvent drops it. */
export class CachedEventStore implements EventStore {
  private readonly copies = new Map<string, { event: EventRecord; freshUntilMs: number }>();
  private readonly reads = new Map<string, Promise<EventRecord | null>>();
  private readonly nowMs: () => number;

  constructor(
    private readonly inner: EventStore,
    private readonly options: EventCacheOptions,
  ) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  async createEvent(event: NewEvent): Promise<string> {
    const eventId = await this.inner.createEvent(event);
    await this.options.catalogChanged();
    return eventId;
  }

  async findEvent(id: string): Promise<EventRecord | null> {
    if (!isUuid(id)) return null;
    // Kept under the id as PostgreSQL spells it (event.id, lower case): every spelling of
    // one UUID shares one copy and one read.
    const eventId = id.toLowerCase();
    const cached = this.copies.get(eventId);
    if (cached && cached.freshUntilMs > this.nowMs()) return cached.event;
    // One read per event at a time: when the copy runs out mid-sale, the requests in flight
    // wait for that read instead of each taking a pooled connection for the same row.
    const reading = this.reads.get(eventId);
    if (reading) return reading;
    const read: Promise<EventRecord | null> = this.inner
      .findEvent(eventId)
      .then((event) => {
        // Not kept when forgotten meanwhile (an edit): the next caller reads again.
        if (event && this.reads.get(eventId) === read) {
          if (this.copies.size >= this.options.entriesMax) this.copies.clear();
          this.copies.set(eventId, { event, freshUntilMs: this.nowMs() + this.options.ttlMs });
        }
        return event;
      })
      .finally(() => {
        if (this.reads.get(eventId) === read) this.reads.delete(eventId);
      });
    this.reads.set(eventId, read);
    return read;
  }

  async updateEvent(eventId: string, patch: EventPatch, nowMs: number): Promise<EventUpdate> {
    let update: EventUpdate;
    try {
      update = await this.inner.updateEvent(eventId, patch, nowMs);
    } finally {
      this.forget([eventId]);
    }
    if (update.kind === 'updated') await this.options.catalogChanged();
    return update;
  }

  /** Every cached catalog answer is stale from now on (after a write to the catalog). */
  catalogChanged(): Promise<void> {
    return this.options.catalogChanged();
  }

  countSeats(eventId: string, nowMs: number) {
    return this.inner.countSeats(eventId, nowMs);
  }

  seatSnapshot(eventId: string, nowMs: number) {
    return this.inner.seatSnapshot(eventId, nowMs);
  }

  seatDetails(eventId: string, seatNos: number[]) {
    return this.inner.seatDetails(eventId, seatNos);
  }

  seatStates(eventId: string, nowMs: number, range?: { from: number; to: number }) {
    return this.inner.seatStates(eventId, nowMs, range);
  }

  hasEvents() {
    return this.inner.hasEvents();
  }

  /** Drops this process's copies of the events (after an edit that shows in them). */
  forget(eventIds: string[]): void {
    for (const id of eventIds) {
      const eventId = id.toLowerCase();
      this.copies.delete(eventId);
      this.reads.delete(eventId);
    }
  }
}

/**
 * A CatalogStore whose writes invalidate the cached catalog answers, and whose renames also
 * drop the cached copies of the events that show the renamed venue or performer.
 */
export class CacheKeepingCatalog implements CatalogStore {
  constructor(
    private readonly inner: CatalogStore,
    private readonly events: CachedEventStore,
  ) {}

  async createVenue(...args: Parameters<CatalogStore['createVenue']>) {
    const venue = await this.inner.createVenue(...args);
    await this.events.catalogChanged();
    return venue;
  }

  findVenue(venueId: string) {
    return this.inner.findVenue(venueId);
  }

  async updateVenue(...args: Parameters<CatalogStore['updateVenue']>) {
    const renamed = await this.inner.updateVenue(...args);
    if (renamed) await this.renamed(renamed.eventIds);
    return renamed;
  }

  listVenues(organizerId: string, limit: number) {
    return this.inner.listVenues(organizerId, limit);
  }

  async createPerformer(...args: Parameters<CatalogStore['createPerformer']>) {
    const performer = await this.inner.createPerformer(...args);
    await this.events.catalogChanged();
    return performer;
  }

  findPerformer(performerId: string) {
    return this.inner.findPerformer(performerId);
  }

  async updatePerformer(...args: Parameters<CatalogStore['updatePerformer']>) {
    const renamed = await this.inner.updatePerformer(...args);
    if (renamed) await this.renamed(renamed.eventIds);
    return renamed;
  }

  listPerformers(organizerId: string, limit: number) {
    return this.inner.listPerformers(organizerId, limit);
  }

  listByDate(...args: Parameters<CatalogStore['listByDate']>) {
    return this.inner.listByDate(...args);
  }

  searchText(...args: Parameters<CatalogStore['searchText']>) {
    return this.inner.searchText(...args);
  }

  suggest(text: string, limit: number) {
    return this.inner.suggest(text, limit);
  }

  private async renamed(eventIds: string[]): Promise<void> {
    this.events.forget(eventIds);
    await this.events.catalogChanged();
  }
}
