// GET …/availability: the compact map as the API's JSON bytes, built at most once per
// interval per event and shared by every request in it, and the changes since a recent
// version (`?since=`), so a client that already has a map fetches only what moved. A cache
// of built answers, so it lives with HTTP; the map it shows comes from app/seat-maps.ts.
import type { Deps } from '../app/deps.ts';
import { requireEvent } from '../app/events.ts';
import type { EventRecord } from '../app/ports/events.ts';
import { readSeatMap, type SeatMapState } from '../app/seat-maps.ts';
import { availabilityChangesJson, availabilityView, seatMapTag } from './seat-map-encoding.ts';

/**
 * How long a built document is shared: a reader may see the map up to this old (holds are
 * checked anyway). A constant until the config has AVAILABILITY_MAX_AGE_MS.
 */
export const availabilityMaxAgeMsDefault = 100;

export interface AvailabilityCacheLimits {
  maxAgeMs: number;
  /** Events whose documents and recent changes are kept (the least recently built go first). */
  eventsMax: number;
  /** Seat changes remembered per event; a client further behind gets the full document. */
  windowChangesMax: number;
  /** Change documents kept per built state, by the version they start from. */
  deltasPerStateMax: number;
}

const defaultLimits: Omit<AvailabilityCacheLimits, 'maxAgeMs'> = {
  eventsMax: 32,
  windowChangesMax: 20_000,
  deltasPerStateMax: 32,
};

/** The seats one change batch of the board's log touched (their statuses are read from the map). */
interface ChangedSeats {
  version: number;
  seatNos: Int32Array;
}

/**
 * The board's recent change batches of one event, contiguous in version up to `version`.
 * A delta may start at any version from `floor` on. Only appended to and cut at the front
 * (raising floor); a new start is a new window, so a state built earlier keeps its own.
 */
interface ChangeWindow {
  floor: number;
  version: number;
  batches: ChangedSeats[];
  changeCount: number;
}

/** One built state of an event's map: what every request in the interval is sent. */
export interface BuiltAvailability {
  /** The map's ETag (http/seat-map-encoding.ts seatMapTag). */
  readonly tag: string;
  /** The full availability document, as sent. */
  readonly json: Buffer;
  readonly state: SeatMapState;
  /** Null when the map came from PostgreSQL (the board's log does not describe it). */
  readonly window: ChangeWindow | null;
  /** Change documents by the version they start from; null: the full document is smaller. */
  readonly deltas: Map<number, Buffer | null>;
}

interface Entry {
  built: BuiltAvailability;
  builtAtMs: number;
  updatedAtMs: number;
}

/**
 * The availability documents of recently read events. Each event's is built at most once
 * per maxAgeMs (application clock): every request in that time, and every request that
 * arrives while it is being built, gets the same bytes (one build in flight per event).
 * A build reads the map from the board, deflates it only when its state changed, and
 * appends the board's change batches since the previous build to the event's window.
 */
export class AvailabilityCache {
  private readonly entries = new Map<string, Entry>();
  private readonly building = new Map<string, Promise<BuiltAvailability>>();
  private readonly limits: AvailabilityCacheLimits;

  constructor(
    private readonly deps: Deps,
    limits: Partial<AvailabilityCacheLimits> = {},
  ) {
    this.limits = { maxAgeMs: availabilityMaxAgeMsDefault, ...defaultLimits, ...limits };
  }

  /** The built map of a viewable event (EVENT_NOT_FOUND otherwise). */
  async read(eventId: string): Promise<BuiltAvailability> {
    const event = await requireEvent(this.deps, eventId);
    const known = this.entries.get(event.id);
    if (
      known &&
      known.updatedAtMs === event.updatedAtMs &&
      this.deps.clock.nowMs() < known.builtAtMs + this.limits.maxAgeMs
    ) {
      return known.built;
    }
    let building = this.building.get(event.id);
    if (!building) {
      building = this.build(event).finally(() => this.building.delete(event.id));
      this.building.set(event.id, building);
    }
    return building;
  }

  /**
   * The change document from `since` to the built state: every seat that changed after
   * `since` and every lapsed hold, with its status in the built state. Applied to the map
   * at `since` (as the availability document or the live stream gave it) it gives the
   * built map. Null when the window does not reach back to `since`, `since` is not a
   * version of this map (ahead of it, or from PostgreSQL while Redis was down), or the
   * changes would not be smaller than the full document: then the full document is sent.
   */
  changesSince(built: BuiltAvailability, since: number): Buffer | null {
    const { window, state } = built;
    if (!window || since < window.floor || since > state.version) return null;
    const memo = built.deltas.get(since);
    if (memo !== undefined) return memo;
    // A change costs at least this many bytes: past the budget, the full document is smaller.
    const seatsMax = Math.floor(built.json.length / 30);
    // A lapse moves no version: every lapsed hold goes in, whatever the client saw.
    const seats = new Set<number>(state.lapsedSeatNos);
    for (let index = window.batches.length - 1; index >= 0 && seats.size <= seatsMax; index -= 1) {
      const batch = window.batches[index]!;
      if (batch.version > state.version) continue; // appended by a later build
      if (batch.version <= since) break;
      for (const seatNo of batch.seatNos) if (seatNo < state.event.seatCount) seats.add(seatNo);
    }
    let answer: Buffer | null = null;
    if (seats.size <= seatsMax) {
      const json = Buffer.from(availabilityChangesJson(state, since, seats));
      if (json.length < built.json.length) answer = json;
    }
    if (built.deltas.size >= this.limits.deltasPerStateMax) built.deltas.delete(built.deltas.keys().next().value!);
    built.deltas.set(since, answer);
    return answer;
  }

  private async build(event: EventRecord): Promise<BuiltAvailability> {
    const state = await readSeatMap(this.deps, event);
    const known = this.entries.get(event.id);
    const window = await this.advance(known, state);
    const tag = seatMapTag(state);
    // Unchanged since the last build: the same document (no DEFLATE), only timed anew.
    const built: BuiltAvailability =
      known && known.built.tag === tag && known.built.window === window
        ? known.built
        : {
            tag,
            json: known?.built.tag === tag ? known.built.json : Buffer.from(JSON.stringify(availabilityView(state))),
            state,
            window,
            deltas: new Map(),
          };
    this.entries.delete(event.id);
    this.entries.set(event.id, { built, builtAtMs: this.deps.clock.nowMs(), updatedAtMs: event.updatedAtMs });
    if (this.entries.size > this.limits.eventsMax) this.entries.delete(this.entries.keys().next().value!);
    return built;
  }

  /**
   * The event's change window up to the new state: the previous one with the board's
   * batches since its version appended, or a new one starting at the state's version when
   * they cannot be had (first build, a rebuilt board, another seat layout, the log no longer
   * reaching back). Null for a map read from PostgreSQL.
   */
  private async advance(known: Entry | undefined, state: SeatMapState): Promise<ChangeWindow | null> {
    const fresh = (): ChangeWindow => ({ floor: state.version, version: state.version, batches: [], changeCount: 0 });
    if (state.source !== 'cache') return null;
    const window = known?.built.window;
    if (!window || known.updatedAtMs !== state.event.updatedAtMs || state.version < window.version) return fresh();
    if (state.version === window.version) return window;
    const batches = await this.deps.board.changesSince(state.event.id, window.version);
    if (!batches) return fresh();
    const wanted = batches.filter((batch) => batch.version <= state.version);
    const contiguous =
      wanted.length === state.version - window.version &&
      wanted.every((batch, index) => batch.version === window.version + index + 1);
    // Not one batch per version up to the state's (the board was rebuilt meanwhile): anew.
    if (!contiguous) return fresh();
    for (const batch of wanted) {
      window.batches.push({ version: batch.version, seatNos: Int32Array.from(batch.changes, (c) => c.seatNo) });
      window.changeCount += batch.changes.length;
    }
    window.version = state.version;
    while (window.changeCount > this.limits.windowChangesMax && window.batches.length > 0) {
      const dropped = window.batches.shift()!;
      window.changeCount -= dropped.seatNos.length;
      window.floor = dropped.version;
    }
    return window;
  }
}
