// Hold rules. Time is always passed in (epoch milliseconds); nothing here reads a clock.
import { DomainError } from './errors.ts';
import { seatNoOf } from './seat-map.ts';

/** blocked: taken off sale by the organizer (press, production, sponsors) until released. */
export type SeatStatus = 'available' | 'held' | 'booked' | 'blocked';
export type ReservationStatus = 'active' | 'confirmed' | 'cancelled' | 'expired';

/**
 * A hold ends exactly at its expiry instant: held strictly before it, available from it on
 * (invariant 3). The specification every implementation follows: in SQL
 * adapters/postgres/seat-status.ts and migrations/functions/ (`hold_expires_at > now` is
 * held), in the hold gate app/seat-board-rules.ts isBlocking (Redis Lua and in-process,
 * checked together by test/integration/seat-board-rules.test.ts).
 */
export function isHoldLive(holdExpiresAtMs: number | null, nowMs: number): boolean {
  return holdExpiresAtMs !== null && nowMs < holdExpiresAtMs;
}

export function seatStatusAt(seat: { booked: boolean; holdExpiresAtMs: number | null }, nowMs: number): SeatStatus {
  if (seat.booked) return 'booked';
  return isHoldLive(seat.holdExpiresAtMs, nowMs) ? 'held' : 'available';
}

/** The status a client sees: an active reservation past its expiry is expired, swept or not. */
export function reservationStatusAt(stored: ReservationStatus, expiresAtMs: number, nowMs: number): ReservationStatus {
  return stored === 'active' && !isHoldLive(expiresAtMs, nowMs) ? 'expired' : stored;
}

export function holdExpiresAt(nowMs: number, holdTtlMs: number): number {
  return nowMs + holdTtlMs;
}

export function assertSaleOpen(saleOpensAtMs: number, nowMs: number): void {
  if (nowMs < saleOpensAtMs) {
    throw new DomainError('SALE_NOT_OPEN', `the sale opens at ${new Date(saleOpensAtMs).toISOString()}`, {
      sale_opens_at: new Date(saleOpensAtMs).toISOString(),
    });
  }
}

/**
 * Turns requested seat ids into seat numbers, refusing unknown and duplicate ids (naming
 * them) and requests above the per-hold maximum. Returns seat numbers in request order.
 */
export function parseHoldRequest(seatIds: string[], seatCount: number, seatsPerHoldMax: number): number[] {
  if (seatIds.length === 0) throw new DomainError('VALIDATION_FAILED', 'seat_ids must name at least one seat');
  if (seatIds.length > seatsPerHoldMax) {
    throw new DomainError('TOO_MANY_SEATS', `at most ${seatsPerHoldMax} seats can be held in one reservation`, {
      seats_per_hold_max: seatsPerHoldMax,
    });
  }
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  const unknown: string[] = [];
  const seatNos: number[] = [];
  for (const seatId of seatIds) {
    if (seen.has(seatId)) duplicates.add(seatId);
    seen.add(seatId);
    const seatNo = seatNoOf(seatId, seatCount);
    if (seatNo === undefined) unknown.push(seatId);
    else seatNos.push(seatNo);
  }
  if (unknown.length > 0) {
    throw new DomainError('UNKNOWN_SEATS', `unknown seat ids: ${unknown.join(', ')}`, { unknown_seat_ids: unknown });
  }
  if (duplicates.size > 0) {
    throw new DomainError('DUPLICATE_SEATS', `seat ids named more than once: ${[...duplicates].join(', ')}`, {
      duplicate_seat_ids: [...duplicates],
    });
  }
  return seatNos;
}

/** Per-event cap on seats one user holds or has booked, counting this request. */
export function assertWithinUserLimit(alreadyHeldOrBooked: number, requested: number, maxSeatsPerUser: number): void {
  if (alreadyHeldOrBooked + requested > maxSeatsPerUser) {
    throw new DomainError(
      'USER_SEAT_LIMIT_EXCEEDED',
      `this event allows ${maxSeatsPerUser} seats per buyer; you hold or own ${alreadyHeldOrBooked} and asked for ${requested}`,
      { max_seats_per_user: maxSeatsPerUser, seats_held_or_booked: alreadyHeldOrBooked },
    );
  }
}
