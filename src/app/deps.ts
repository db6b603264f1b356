import type { SeatMapLimits } from '../domain/seat-map.ts';
import type { AdmissionTokens } from './ports/admission-tokens.ts';
import type {
  BookingStore,
  CatalogCache,
  CatalogStore,
  Clock,
  Payments,
  RateLimiter,
  SeatBoard,
  WaitingRoom,
} from './ports.ts';

export interface Settings {
  holdTtlMs: number;
  seatsPerHoldMax: number;
  seatMapLimits: SeatMapLimits;
  idempotencyInFlightStaleMs: number;
  /** Off: every hold goes straight to PostgreSQL (the board still mirrors the map). */
  holdGate: boolean;
  admitter: { tickMs: number; batchMax: number };
  queueStreamIntervalMs: number;
  /** GET …/seats: the largest event it lists, and how long a built list is shared. */
  seatList: { seatsMax: number; maxAgeMs: number };
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
  /** The line in front of a sale (Redis, or in-process). */
  waitingRoom: WaitingRoom;
  admissionTokens: AdmissionTokens;
  rateLimiter: RateLimiter;
  /** Uniform random 32-bit words (crypto in production; seeded in tests). */
  randomWord: () => number;
  settings: Settings;
}
