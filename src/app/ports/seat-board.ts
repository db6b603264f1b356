// The hot path in front of PostgreSQL: the hold gate, the live seat map and the change
// feed, played by one adapter (Redis, or in-process). Times are epoch milliseconds.
import type { CandidateRow } from '../../domain/best-available.ts';
import type { SeatStatus } from '../../domain/holds.ts';
import type { SeatState } from './events.ts';

/** 2 bits per seat in seat order (see domain/availability.ts) and the version it is at. */
export interface Availability {
  version: number;
  bits: Uint8Array;
  /**
   * The seats of holds shown available because they ended before the read, not yet swept
   * (a hold ends exactly at its expiry, however late the sweeper). Their count, with
   * version, tags the state; the seats themselves go into the changes a client is sent
   * since a version (a lapse moves no version).
   */
  lapsedSeatNos: readonly number[];
}

export type GateAnswer =
  | { kind: 'passed' }
  | { kind: 'conflict'; seatNos: number[] }
  /** The gate could not answer (Redis unreachable): PostgreSQL alone decides. */
  | { kind: 'bypassed' };

export type BestAnswer =
  | { kind: 'passed'; seatNos: number[] }
  /** No seats of the rows fit the request at this instant. */
  | { kind: 'none' }
  /** The gate could not choose (Redis unreachable, or its map not built yet): PostgreSQL's state decides. */
  | { kind: 'bypassed' };

/**
 * Refuses conflicting holds before PostgreSQL is asked. A pass takes the seats
 * provisionally, for a few seconds: the PostgreSQL decision then either settles them
 * (SeatMapCache.apply) or gives them back (abandon). Never the judge: a wrong pass is
 * refused by PostgreSQL, a provisional hold left behind by a dead process lapses.
 */
export interface HoldGate {
  tryHold(eventId: string, seatNos: number[], holder: string, nowMs: number): Promise<GateAnswer>;
  /**
   * Best available: chooses seats from rows (best first) by domain/best-available.ts
   * chooseSeats and takes them provisionally, in one atomic step, as tryHold takes named seats.
   */
  tryHoldBest(
    eventId: string,
    seatCount: number,
    rows: readonly CandidateRow[],
    choice: { count: number; together: boolean },
    holder: string,
    nowMs: number,
  ): Promise<BestAnswer>;
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
