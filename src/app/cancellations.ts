// Taking seats back from bookings and refunding them: a buyer under the event's refund
// policy, the event's organizer at any time, and every booking of a cancelled event (a
// durable job the sweeper runs, resumable after a crash).
//
// Each is one statement (cancel_booking(): seats freed, booking shrunk, refund written,
// each seat refunded at most once), then the refund is sent; the refund job retries it when
// the provider fails. Freed seats go back on the live map at once.
import { DomainError } from '../domain/errors.ts';
import { seatNoOf } from '../domain/seat-map.ts';
import { getBookingAs } from './bookings.ts';
import type { Deps } from './deps.ts';
import type { EventRecord } from './ports/events.ts';
import type { RefundReason } from './ports/ledger.ts';
import { requireOwnEvent } from './events.ts';
import { sendRefund } from './payments.ts';

const hourMs = 3_600_000;

function seatNosOf(event: EventRecord, seatIds: string[] | undefined): number[] | null {
  if (seatIds === undefined) return null;
  const seatNos = seatIds.map((seatId) => seatNoOf(seatId, event.seatCount));
  const unknown = seatIds.filter((_, index) => seatNos[index] === undefined);
  if (unknown.length > 0) {
    throw new DomainError('UNKNOWN_SEATS', `no such seats: ${unknown.join(', ')}`, { unknown_seat_ids: unknown });
  }
  if (new Set(seatNos).size !== seatNos.length) throw new DomainError('DUPLICATE_SEATS', 'a seat is named twice');
  return seatNos as number[];
}

async function takeBack(
  deps: Deps,
  event: EventRecord,
  bookingId: string,
  seatNos: number[] | null,
  reason: Exclude<RefundReason, 'hold_lost'>,
  feePercent: number,
  note?: string,
) {
  const outcome = await deps.ledger.cancelBooking({
    bookingId,
    seatNos,
    reason,
    feePercent,
    note,
    nowMs: deps.clock.nowMs(),
  });
  if (outcome.kind === 'not_found') throw new DomainError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
  if (outcome.kind === 'not_booked') {
    throw new DomainError('SEATS_NOT_IN_BOOKING', 'some of these seats are not part of this booking');
  }
  if (outcome.kind === 'checked_in') {
    throw new DomainError('TICKETS_CHECKED_IN', 'a ticket of these seats was used at the door: it cannot be cancelled');
  }
  if (outcome.kind === 'cancelled') {
    await deps.board.apply(event.id, outcome.changes);
    if (outcome.refundId) await sendRefund(deps, outcome.refundId);
  }
}

export interface CancelInput {
  userId: string;
  bookingId: string;
  /** Absent: the whole booking. */
  seatIds?: string[];
}

/**
 * POST /v1/bookings/{id}/cancel: the buyer gives seats back while the event's refund policy
 * allows it, and is refunded their price less the policy's fee. Cancelling seats already
 * cancelled changes nothing (a retry answers the same booking).
 */
export async function cancelMyBooking(deps: Deps, input: CancelInput) {
  const booking = await deps.bookings.findBooking(input.bookingId);
  if (!booking || booking.userId !== input.userId) {
    throw new DomainError('BOOKING_NOT_FOUND', `no booking ${input.bookingId}`);
  }
  const event = await deps.events.findEvent(booking.eventId);
  if (!event) throw new DomainError('BOOKING_NOT_FOUND', `no booking ${input.bookingId}`);
  const policy = event.refundPolicy;
  if (!policy) {
    throw new DomainError('REFUND_WINDOW_CLOSED', 'this event does not let buyers cancel their bookings');
  }
  const closesAtMs = event.startsAtMs - policy.buyerCancelUntilHours * hourMs;
  if (event.status !== 'cancelled' && deps.clock.nowMs() >= closesAtMs) {
    throw new DomainError('REFUND_WINDOW_CLOSED', 'bookings of this event can no longer be cancelled', {
      cancel_until: new Date(closesAtMs).toISOString(),
    });
  }
  await takeBack(deps, event, booking.id, seatNosOf(event, input.seatIds), 'buyer_cancelled', policy.feePercent);
  return getBookingAs(deps, booking.id);
}

/** POST /v1/bookings/{id}/refund: the event's organizer refunds seats (all by default) at any time, in full. */
export async function refundBookingAsOrganizer(
  deps: Deps,
  input: { organizerId: string; bookingId: string; seatIds?: string[]; reason: string },
) {
  const booking = await deps.bookings.findBooking(input.bookingId);
  if (!booking) throw new DomainError('BOOKING_NOT_FOUND', `no booking ${input.bookingId}`);
  const event = await requireOwnEvent(deps, input.organizerId, booking.eventId).catch(() => {
    throw new DomainError('BOOKING_NOT_FOUND', `no booking ${input.bookingId}`);
  });
  await takeBack(deps, event, booking.id, seatNosOf(event, input.seatIds), 'organizer', 0, input.reason);
  return getBookingAs(deps, booking.id);
}

/** GET /v1/events/{id}/cancellation (the organizer's). */
export async function eventCancellationProgress(deps: Deps, organizerId: string, eventId: string) {
  const event = await requireOwnEvent(deps, organizerId, eventId);
  const progress = await deps.ledger.cancellationProgress(event.id);
  if (!progress) {
    if (event.status !== 'cancelled') {
      throw new DomainError('CANCELLATION_NOT_FOUND', 'this event is not cancelled');
    }
    return { status: 'running' as const, bookings: null, refunded: 0, failed: 0, started_at: null, finished_at: null };
  }
  return {
    status: progress.status,
    bookings: progress.bookings,
    refunded: progress.refunded,
    failed: progress.failed,
    started_at: new Date(progress.startedAtMs).toISOString(),
    finished_at: progress.finishedAtMs === null ? null : new Date(progress.finishedAtMs).toISOString(),
  };
}

/**
 * The event cancellation job, one step for each cancelled event not done yet: ends its
 * live holds, takes back every booking's seats with a full refund, and is done once every
 * refund has succeeded. Each step is durable on its own, so a process killed halfway
 * leaves the rest to the next sweep (of any process): nothing is refunded twice (each
 * seat once, each refund under its own provider key).
 */
export async function runEventCancellations(deps: Deps, batchSize: number): Promise<number> {
  let worked = 0;
  for (const eventId of await deps.ledger.runningCancellations(10)) {
    const event = await deps.events.findEvent(eventId);
    if (!event) continue;
    await deps.ledger.startEventCancellation(eventId, deps.clock.nowMs());
    for (;;) {
      const { ended, changes } = await deps.ledger.endEventHolds(eventId, deps.clock.nowMs(), batchSize);
      if (changes.length > 0) await deps.board.apply(eventId, changes);
      worked += ended;
      if (ended < batchSize) break;
    }
    for (;;) {
      const bookingIds = await deps.ledger.bookingsToCancel(eventId, batchSize);
      for (const bookingId of bookingIds) await takeBack(deps, event, bookingId, null, 'event_cancelled', 0);
      worked += bookingIds.length;
      if (bookingIds.length < batchSize) break;
    }
    const progress = await deps.ledger.cancellationProgress(eventId);
    if (progress && progress.refunded === progress.bookings) {
      await deps.ledger.finishEventCancellation(eventId, deps.clock.nowMs());
    }
  }
  return worked;
}
