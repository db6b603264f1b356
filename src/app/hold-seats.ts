// Where a hold is decided: the rules here, the gate in front, the conditional write in the store.
import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors.ts';
import { assertSaleOpen, assertWithinUserLimit, holdExpiresAt, parseHoldRequest } from '../domain/holds.ts';
import { seatIdOf } from '../domain/seat-map.ts';
import type { Deps } from './deps.ts';
import { requireEventOnSale } from './events.ts';
import { reservationView } from './views.ts';
import { requireAdmission } from './waiting-room.ts';

export async function holdSeats(
  deps: Deps,
  userId: string,
  eventId: string,
  seatIds: string[],
  admissionToken?: string,
) {
  const event = await requireEventOnSale(deps, eventId);
  await requireAdmission(deps, event, userId, admissionToken);
  const nowMs = deps.clock.nowMs();
  assertSaleOpen(event.saleOpensAtMs, nowMs);
  const seatNos = parseHoldRequest(seatIds, event.seatCount, deps.settings.seatsPerHoldMax);
  assertWithinUserLimit(0, seatNos.length, event.maxSeatsPerUser);
  const reservationId = randomUUID();
  // The gate refuses most conflicting holds without asking PostgreSQL; a pass takes the
  // seats provisionally until PostgreSQL has decided.
  const gate = deps.settings.holdGate
    ? await deps.board.tryHold(event.id, seatNos, reservationId, nowMs)
    : ({ kind: 'bypassed' } as const);
  if (gate.kind === 'conflict') throw seatsUnavailable(gate.seatNos);
  let outcome;
  try {
    outcome = await deps.reservations.hold({
      reservationId,
      eventId: event.id,
      userId,
      seatNos,
      nowMs,
      expiresAtMs: holdExpiresAt(nowMs, deps.settings.holdTtlMs),
      maxSeatsPerUser: event.maxSeatsPerUser,
      currency: event.currency,
    });
  } catch (error) {
    if (gate.kind === 'passed') await deps.board.abandon(event.id, seatNos, reservationId);
    throw error;
  }
  if (outcome.kind !== 'held' && gate.kind === 'passed') await deps.board.abandon(event.id, seatNos, reservationId);
  switch (outcome.kind) {
    case 'user_limit':
      assertWithinUserLimit(outcome.heldOrBooked, seatNos.length, event.maxSeatsPerUser);
      throw new Error('unreachable: the store reported a limit the rule does not see');
    case 'conflict':
      throw seatsUnavailable(outcome.seatNos);
    case 'held':
      await deps.board.apply(event.id, outcome.changes);
      return reservationView(outcome.reservation, outcome.seats, nowMs);
  }
}

function seatsUnavailable(seatNos: number[]): DomainError {
  const conflicting = seatNos.map(seatIdOf); // in the order the request named them, as PostgreSQL answers
  return new DomainError('SEAT_UNAVAILABLE', `seats not available: ${conflicting.join(', ')}`, {
    conflicting_seat_ids: conflicting,
  });
}
