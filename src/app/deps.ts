import type { SeatMapLimits } from '../domain/seat-map.ts';
import type { BookingStore, Clock, Payments } from './ports.ts';

export interface Settings {
  holdTtlMs: number;
  seatsPerHoldMax: number;
  seatMapLimits: SeatMapLimits;
  idempotencyInFlightStaleMs: number;
}

/** Everything a use case may touch, passed in: no use case reaches for a global. */
export interface Deps {
  store: BookingStore;
  payments: Payments;
  clock: Clock;
  settings: Settings;
}
