import type { SeatMapLimits } from '../domain/seat-map.ts';
import type { BookingStore, CatalogCache, CatalogStore, Clock, Payments, SeatBoard } from './ports.ts';

export interface Settings {
  holdTtlMs: number;
  seatsPerHoldMax: number;
  seatMapLimits: SeatMapLimits;
  idempotencyInFlightStaleMs: number;
  /** Off: every hold goes straight to PostgreSQL (the board still mirrors the map). */
  holdGate: boolean;
}

/** Everything a use case may touch, passed in: no use case reaches for a global. */
export interface Deps {
  store: BookingStore;
  /** Venues, performers, event edits and search. */
  catalog: CatalogStore;
  catalogCache: CatalogCache;
  /** The hot path: hold gate, live seat map and change feed (Redis, or in-process). */
  board: SeatBoard;
  payments: Payments;
  clock: Clock;
  settings: Settings;
}
