// Organizer holds ("kills"): the event's organizer (or an admin) takes seats off sale with
// a label and puts them back. The live map shows them blocked at once; holds refuse them
// (PostgreSQL judges, the gate refuses them as it refuses booked seats).
import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors.ts';
import { parseHoldRequest } from '../domain/holds.ts';
import { isUuid } from '../domain/ids.ts';
import { seatIdOf } from '../domain/seat-map.ts';
import type { Deps } from './deps.ts';
import { requireStatsViewer, type StatsViewer } from './event-stats.ts';
import type { SeatBlockRecord } from './ports/seat-blocks.ts';

/** The most seats one block takes: a whole section of a large arena. */
export const seatsPerBlockMax = 5_000;

export function blockView(block: SeatBlockRecord) {
  return {
    block_id: block.id,
    event_id: block.eventId,
    label: block.label,
    seat_ids: block.seatNos.map(seatIdOf),
    created_at: new Date(block.createdAtMs).toISOString(),
  };
}

export async function blockSeats(
  deps: Deps,
  organizer: StatsViewer,
  eventId: string,
  seatIds: string[],
  label: string,
) {
  const event = await requireOrganizer(deps, organizer, eventId);
  if (event.status === 'cancelled') throw new DomainError('EVENT_CANCELLED', 'this event is cancelled');
  const seatNos = parseHoldRequest(seatIds, event.seatCount, seatsPerBlockMax);
  const nowMs = deps.clock.nowMs();
  const block = {
    id: randomUUID(),
    eventId: event.id,
    label,
    seatNos: [...seatNos].sort((a, b) => a - b),
    createdBy: organizer.userId,
    createdAtMs: nowMs,
  };
  const outcome = await deps.seatBlocks.block(block, nowMs);
  if (outcome.kind === 'conflict') {
    const conflicting = outcome.seatNos.map(seatIdOf);
    throw new DomainError('SEAT_UNAVAILABLE', `seats held, booked or blocked already: ${conflicting.join(', ')}`, {
      conflicting_seat_ids: conflicting,
    });
  }
  await deps.board.apply(event.id, outcome.changes);
  return blockView(outcome.block);
}

export async function releaseBlock(deps: Deps, organizer: StatsViewer, eventId: string, blockId: string) {
  const event = await requireOrganizer(deps, organizer, eventId);
  const outcome = isUuid(blockId)
    ? await deps.seatBlocks.release(event.id, blockId, deps.clock.nowMs())
    : ({ kind: 'not_found' } as const);
  if (outcome.kind === 'not_found') throw new DomainError('BLOCK_NOT_FOUND', `no block ${blockId} on this event`);
  await deps.board.apply(event.id, outcome.changes);
}

export async function listBlocks(deps: Deps, organizer: StatsViewer, eventId: string) {
  const event = await requireOrganizer(deps, organizer, eventId);
  return { event_id: event.id, blocks: (await deps.seatBlocks.list(event.id)).map(blockView) };
}

function requireOrganizer(deps: Deps, organizer: StatsViewer, eventId: string) {
  return requireStatsViewer(deps, organizer, eventId, 'blocks and releases its seats');
}
