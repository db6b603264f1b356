// Where a hold is decided: the rules here, the conditional write in the store.
import { DomainError } from '../domain/errors.ts';
import { assertSaleOpen, assertWithinUserLimit, holdExpiresAt, parseHoldRequest } from '../domain/holds.ts';
import { seatIdOf } from '../domain/seat-map.ts';
import type { Deps } from './deps.ts';
import { requireEvent } from './events.ts';
import { reservationView } from './views.ts';

export async function holdSeats(deps: Deps, userId: string, eventId: string, seatIds: string[]) {
  const event = await requireEvent(deps, eventId);
  const nowMs = deps.clock.nowMs();
  assertSaleOpen(event.saleOpensAtMs, nowMs);
  const seatNos = parseHoldRequest(seatIds, event.seatCount, deps.settings.seatsPerHoldMax);
  assertWithinUserLimit(0, seatNos.length, event.maxSeatsPerUser);
  const outcome = await deps.store.hold({
    eventId: event.id,
    userId,
    seatNos,
    nowMs,
    expiresAtMs: holdExpiresAt(nowMs, deps.settings.holdTtlMs),
    maxSeatsPerUser: event.maxSeatsPerUser,
    currency: event.currency,
  });
  switch (outcome.kind) {
    case 'user_limit':
      assertWithinUserLimit(outcome.heldOrBooked, seatNos.length, event.maxSeatsPerUser);
      throw new Error('unreachable: the store reported a limit the rule does not see');
    case 'conflict': {
      const conflicting = outcome.seatNos.map(seatIdOf);
      throw new DomainError('SEAT_UNAVAILABLE', `seats not available: ${conflicting.join(', ')}`, {
        conflicting_seat_ids: conflicting,
      });
    }
    case 'held':
      return reservationView(outcome.reservation, outcome.seats, nowMs);
  }
}
