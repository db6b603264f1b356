// The buyer's chosen seats, shared by the canvas and the list: both views toggle seats
// here and redraw when it tells them. A seat is selectable only while available; when
// the live map says someone else took a selected seat, it is dropped and onLost says so.
import type { SeatMapModel } from './model.ts';

export interface SelectionCallbacks {
  /** After every change, with the selected seat ids in selection order. */
  onSelectionChange?(seatIds: string[]): void;
  /** Selected seats that someone else held or booked (already deselected). */
  onSelectionLost?(seatIds: string[]): void;
  /** A seat was refused because maxSelectable are already selected. */
  onLimit?(): void;
}

export interface SelectionOptions extends SelectionCallbacks {
  maxSelectable: number;
}

export type ToggleOutcome = 'selected' | 'deselected' | 'limit' | 'unavailable';

/** Tells views which seats changed selection (null: possibly all). */
export type SelectionListener = (changed: readonly number[] | null) => void;

export class SeatSelection {
  readonly model: SeatMapModel;
  private maxSelectable: number;
  private readonly callbacks: SelectionCallbacks;
  /** Seat indexes in the order they were selected. */
  private readonly seats = new Set<number>();
  private readonly listeners = new Set<SelectionListener>();
  private readonly stopWatching: () => void;

  constructor(model: SeatMapModel, options: SelectionOptions) {
    this.model = model;
    this.maxSelectable = Math.max(0, Math.floor(options.maxSelectable));
    this.callbacks = options;
    this.stopWatching = model.onStatusChange((changed) => this.dropTaken(changed));
  }

  get limit(): number {
    return this.maxSelectable;
  }

  get size(): number {
    return this.seats.size;
  }

  has(seat: number): boolean {
    return this.seats.has(seat);
  }

  /** Seat indexes, in selection order. */
  indexes(): number[] {
    return [...this.seats];
  }

  ids(): string[] {
    return this.indexes().map((seat) => this.model.seatIds[seat]!);
  }

  toggle(seat: number): ToggleOutcome {
    if (this.seats.has(seat)) {
      this.seats.delete(seat);
      this.changed([seat]);
      return 'deselected';
    }
    if (this.model.statuses[seat] !== 0) return 'unavailable';
    if (this.seats.size >= this.maxSelectable) {
      this.callbacks.onLimit?.();
      return 'limit';
    }
    this.seats.add(seat);
    this.changed([seat]);
    return 'selected';
  }

  clear(): void {
    if (this.seats.size === 0) return;
    const dropped = this.indexes();
    this.seats.clear();
    this.changed(dropped);
  }

  /** A new limit (e.g. after the buyer's own holds); extra seats are dropped, latest first. */
  setLimit(maxSelectable: number): void {
    this.maxSelectable = Math.max(0, Math.floor(maxSelectable));
    const dropped = this.indexes().slice(this.maxSelectable);
    for (const seat of dropped) this.seats.delete(seat);
    if (dropped.length > 0) this.changed(dropped);
  }

  /** Listens to selection changes; returns the function that stops listening. */
  subscribe(listener: SelectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  destroy(): void {
    this.stopWatching();
    this.listeners.clear();
  }

  private dropTaken(changed: readonly number[] | null): void {
    const candidates = changed ?? this.indexes();
    const lost: number[] = [];
    for (const seat of candidates) {
      if (this.seats.has(seat) && this.model.statuses[seat] !== 0) lost.push(seat);
    }
    if (lost.length === 0) return;
    for (const seat of lost) this.seats.delete(seat);
    this.changed(lost);
    this.callbacks.onSelectionLost?.(lost.map((seat) => this.model.seatIds[seat]!));
  }

  private changed(seats: readonly number[]): void {
    for (const listener of [...this.listeners]) listener(seats);
    this.callbacks.onSelectionChange?.(this.ids());
  }
}
