// Organizer holds ("kills"): seats an organizer takes off sale (press, production,
// sponsors) until released. PostgreSQL keeps them (seat_blocks, seats.block_id). Times are
// epoch milliseconds.
import type { SeatState } from './events.ts';

export interface SeatBlockRecord {
  id: string;
  eventId: string;
  label: string;
  seatNos: number[];
  createdBy: string;
  createdAtMs: number;
}

export type BlockOutcome =
  | { kind: 'blocked'; block: SeatBlockRecord; changes: SeatState[] }
  /** Seats held, booked or blocked already (or being changed right now): nothing was blocked. */
  | { kind: 'conflict'; seatNos: number[] };

export type ReleaseOutcome = { kind: 'released'; changes: SeatState[] } | { kind: 'not_found' };

export interface SeatBlockStore {
  /** Blocks all the seats or none: each must be free (neither held nor booked nor blocked) at nowMs. */
  block(block: SeatBlockRecord, nowMs: number): Promise<BlockOutcome>;
  /** Puts a live block's seats back on sale. */
  release(eventId: string, blockId: string, nowMs: number): Promise<ReleaseOutcome>;
  /** The live blocks of an event, oldest first. */
  list(eventId: string): Promise<SeatBlockRecord[]>;
}
