// The event page's seat map: the model from the seat list, the canvas and list views
// over one selection, and the live stream that keeps the statuses current.
import { api, type EventDetail, type SeatsDocument } from '../api.ts';
import { SeatMapView } from '../seat-map/canvas-view.ts';
import { SeatListView } from '../seat-map/list-view.ts';
import {
  decodeAvailability,
  SeatMapModel,
  type AvailabilityDocument,
  type SeatChangesMessage,
} from '../seat-map/model.ts';
import { SeatSelection } from '../seat-map/selection.ts';
import { drawOwnSeats } from '../seat-map/seat-symbols.ts';

export interface SeatMapHandle {
  selected(): string[];
  clearSelection(): void;
  describe(seatId: string): { section: string; row: string; number: number; price_cents: number };
  /** Seats a hold was refused for: shown taken until the stream says otherwise. */
  markTaken(seatIds: string[]): void;
  /**
   * Seats held for this buyer (best available chose them): drawn as theirs and brought into
   * view; [] clears. onReleased: the live map says they are all available again (the hold ran out).
   */
  showOwn(seatIds: string[], onReleased?: () => void): void;
  /**
   * Seats of the buyer's holds made earlier (GET /v1/me/reservations): drawn as theirs, where
   * they are, until the live map shows them available again (the hold ended).
   */
  showHeld(seatIds: string[]): void;
  /** Available seats, of one price tier (null: any), and only (or never) wheelchair spaces and companion seats. */
  countAvailable(tierId: string | null, accessible: boolean): number;
  close(): void;
}

export interface SeatMapOptions {
  event: EventDetail;
  /** GET …/availability, asked for while the event detail loads. */
  availability: Promise<AvailabilityDocument>;
  mapHost: HTMLElement;
  listHost: HTMLElement;
  selectable: boolean;
  /** How many seats may be selected at once (default: the event's seats per buyer). */
  maxSelectable?: number;
  onSelectionChange(seatIds: string[]): void;
  onSelectionLost(seatIds: string[]): void;
  onLimit(): void;
  onLive(connected: boolean): void;
  /** After any status change: how many seats are available now. */
  onAvailableCount(available: number): void;
}

/**
 * The model, from the sections and the 2-bit availability (about 11 KB for 100,000 seats)
 * when the event says how its seat ids are made; else from the full seat list (about 10 MB).
 */
async function loadModel(event: EventDetail, availabilityAsked: Promise<AvailabilityDocument>): Promise<SeatMapModel> {
  if (event.seat_ids?.kind !== 'prefix-index') {
    const list = await api<SeatsDocument>(`/v1/events/${encodeURIComponent(event.event_id)}/seats`);
    performance.mark('seat-map:data');
    return SeatMapModel.fromApi(event, list);
  }
  const availability = await availabilityAsked;
  const statuses = await decodeAvailability(availability);
  performance.mark('seat-map:data');
  return SeatMapModel.fromPlan(event, event.seat_ids.prefix, statuses, availability.version);
}

export async function openSeatMap(options: SeatMapOptions): Promise<SeatMapHandle> {
  // Marks for bench/web-seat-map.ts: when the data arrived and when the model was built.
  const model = await loadModel(options.event, options.availability);
  performance.mark('seat-map:model');
  let quiet = false; // a refused hold already said which seats were taken
  const selection = new SeatSelection(model, {
    maxSelectable: options.selectable ? (options.maxSelectable ?? options.event.max_seats_per_user) : 0,
    onSelectionChange: options.onSelectionChange,
    onSelectionLost: (seatIds) => {
      if (!quiet) options.onSelectionLost(seatIds);
    },
    onLimit: options.onLimit,
  });
  model.onStatusChange(() => {
    let available = 0;
    for (let seat = 0; seat < model.seatCount; seat++) if (model.statuses[seat] === 0) available++;
    options.onAvailableCount(available);
  });
  const canvas = new SeatMapView(options.mapHost, { model, selection });
  canvas.setSelectable(options.selectable);
  const list = new SeatListView(options.listHost, { model, selection });
  let own: number[] = [];
  let ownReleased: (() => void) | undefined;
  // Seats of the buyer's hold the live map has shown taken: the answer to the hold may come
  // before the stream says so, and an own seat still shown available is not yet released.
  const ownSeenTaken = new Set<number>();
  canvas.addLayer((context, viewport) => drawOwnSeats(context, model, own, viewport));
  let held: number[] = [];
  canvas.addLayer((context, viewport) => drawOwnSeats(context, model, held, viewport));
  model.onStatusChange(() => {
    if (held.length === 0) return;
    const still = held.filter((seat) => model.statuses[seat] !== 0);
    if (still.length === held.length) return;
    held = still;
    canvas.redraw();
  });
  model.onStatusChange(() => {
    if (own.length === 0) return;
    for (const seat of own) if (model.statuses[seat] !== 0) ownSeenTaken.add(seat);
    if (!own.every((seat) => ownSeenTaken.has(seat) && model.statuses[seat] === 0)) return;
    own = [];
    canvas.redraw();
    ownReleased?.();
  });
  list.setSelectable(options.selectable);

  // Messages are applied in order: a snapshot is decoded asynchronously, and a change that
  // arrives meanwhile must wait for it. Anything not newer than what is shown is skipped.
  let version = model.version;
  let applying: Promise<void> = Promise.resolve();
  const stream = new EventSource(`/v1/events/${encodeURIComponent(options.event.event_id)}/seats/stream`);
  stream.addEventListener('open', () => options.onLive(true));
  stream.addEventListener('error', () => options.onLive(stream.readyState === EventSource.OPEN));
  stream.addEventListener('snapshot', (message) => {
    const document = JSON.parse((message as MessageEvent<string>).data) as AvailabilityDocument;
    applying = applying.then(async () => {
      const statuses = await decodeAvailability(document);
      if (statuses.length !== model.seatCount) {
        location.reload(); // the organizer replaced the seat map
        return;
      }
      model.applySnapshot(statuses);
      version = document.version;
      options.onLive(true);
    });
  });
  stream.addEventListener('seat', (message) => {
    const changes = JSON.parse((message as MessageEvent<string>).data) as SeatChangesMessage;
    applying = applying.then(() => {
      if (changes.version <= version) return;
      model.applyChanges(changes.changes);
      version = changes.version;
    });
  });

  return {
    selected: () => selection.ids(),
    clearSelection: () => selection.clear(),
    describe(seatId) {
      const seat = model.indexOf(seatId);
      if (seat < 0) return { section: '?', row: '?', number: 0, price_cents: 0 };
      return {
        section: model.sections[model.sectionOfSeat[seat]!]!.name,
        row: model.rowLabels[model.rowOfSeat[seat]!]!,
        number: model.numbers[seat]!,
        price_cents: model.priceCents[seat]!,
      };
    },
    markTaken(seatIds) {
      quiet = true;
      try {
        model.applyChanges(seatIds.map((seatId) => ({ seat_id: seatId, status: 'held' as const })));
      } finally {
        quiet = false;
      }
    },
    showOwn(seatIds, onReleased) {
      own = seatIds.map((seatId) => model.indexOf(seatId)).filter((seat) => seat >= 0);
      ownReleased = onReleased;
      ownSeenTaken.clear();
      for (const seat of own) if (model.statuses[seat] !== 0) ownSeenTaken.add(seat);
      canvas.redraw();
      canvas.showSeats(own);
    },
    showHeld(seatIds) {
      held = seatIds.map((seatId) => model.indexOf(seatId)).filter((seat) => seat >= 0 && model.statuses[seat] !== 0);
      canvas.redraw();
    },
    countAvailable(tierId, accessible) {
      const tier = tierId === null ? -1 : model.tiers.findIndex((candidate) => candidate.id === tierId);
      if (tierId !== null && tier < 0) return 0;
      let available = 0;
      for (let seat = 0; seat < model.seatCount; seat++) {
        if (model.statuses[seat] !== 0 || (model.kinds[seat] !== 0) !== accessible) continue;
        if (tier < 0 || model.tierOfSeat[seat] === tier) available++;
      }
      return available;
    },
    close() {
      stream.close();
      canvas.destroy();
      list.destroy();
      selection.destroy();
    },
  };
}
