// Business facts: what happened, written to the outbox in the transaction of the change
// (migration 012's triggers), published by the relay to the bus, applied by consumers.
// Delivery is at least once; a consumer applies each fact once (it records the fact ids).

export const factTypes = [
  'booking.confirmed',
  'booking.cancelled',
  'refund.succeeded',
  'refund.failed',
  'event.cancelled',
  'seats.released',
] as const;
export type FactType = (typeof factTypes)[number];

export interface Fact {
  /** Unique: what consumers dedupe by. */
  factId: string;
  /** The publication order (gap-free, from 1), given by the relay. */
  seq: number;
  type: FactType;
  /** The event (the show) it belongs to: facts of one event are published in order. */
  eventId: string;
  payload: Record<string, unknown>;
  /** When its transaction wrote it (wall time, for lag figures). */
  writtenAtMs: number;
}
