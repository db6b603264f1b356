// The organizer's live view of a sale: GET /v1/events/{id}/stats (and its stream), and the
// attendee list. Three sources, each read where it lives:
// - sales (bookings, seats and money by tier, bookings per minute, refunds): the `stats`
//   consumer of the fact bus (a second or so behind the bookings themselves);
// - seats sold, held and available now: the live seat map (the seat board, PostgreSQL's
//   states written through; PostgreSQL itself while the board cannot answer);
// - the waiting room: its line and admitted shoppers, and the event's admission settings.
import { countSeatStatuses } from '../domain/sale-stats.ts';
import { DomainError } from '../domain/errors.ts';
import type { Deps } from './deps.ts';
import type { EventRecord } from './ports/events.ts';
import type { AttendeeSeat } from './ports/event-stats.ts';
import { readSeatMap } from './seat-maps.ts';

/** The chart's window: bookings per minute over the last hour. */
export const statsWindowMinutes = 60;
const minuteMs = 60_000;
/** attendees.csv reads this many bookings per query. */
const attendeePageBookings = 500;

export interface StatsViewer {
  userId: string;
  role: string;
}

/**
 * The event, if the viewer may see its sales: its organizer, or an admin. Anyone else is
 * FORBIDDEN for a published (or cancelled) event, whose existence is public; a draft, like
 * an unknown event, does not exist to them (404), as everywhere else.
 */
export async function requireStatsViewer(
  deps: Deps,
  viewer: StatsViewer,
  eventId: string,
  action = 'sees its sales',
): Promise<EventRecord> {
  const event = await deps.events.findEvent(eventId);
  if (!event || (event.status === 'draft' && event.organizerId !== viewer.userId && viewer.role !== 'admin')) {
    throw new DomainError('EVENT_NOT_FOUND', `no event ${eventId}`);
  }
  if (viewer.role !== 'admin' && event.organizerId !== viewer.userId) {
    throw new DomainError('FORBIDDEN', `only the event's organizer (or an admin) ${action}`);
  }
  return event;
}

export async function eventStats(deps: Deps, viewer: StatsViewer, eventId: string) {
  return statsOf(deps, await requireStatsViewer(deps, viewer, eventId));
}

export type EventStatsView = Awaited<ReturnType<typeof statsOf>>;

/** The figures of an event the caller may see (requireStatsViewer). */
export async function statsOf(deps: Deps, event: EventRecord) {
  const nowMs = deps.clock.nowMs();
  const sinceMs = Math.floor(nowMs / minuteMs) * minuteMs - (statsWindowMinutes - 1) * minuteMs;
  const room = event.waitingRoom;
  const [sales, map, waiting, admitted] = await Promise.all([
    deps.stats.sales(event.id, sinceMs),
    readSeatMap(deps, event),
    room.enabled ? deps.waitingRoom.waitingCount(event.id).catch(() => null) : 0,
    room.enabled ? deps.waitingRoom.admittedCount(event.id, nowMs).catch(() => null) : 0,
  ]);
  const seats = countSeatStatuses(map.bits, event.seatCount);
  const soldByTier = new Map(sales.tiers.map((tier) => [tier.priceTier, tier]));
  const seatsByTier = new Map<string, number>();
  for (const section of event.sections) {
    const count = section.rows.reduce((sum, row) => sum + row.seats, 0);
    seatsByTier.set(section.price_tier, (seatsByTier.get(section.price_tier) ?? 0) + count);
  }
  return {
    event_id: event.id,
    name: event.name,
    status: event.status,
    currency: event.currency,
    as_of: new Date(nowMs).toISOString(),
    seats: {
      total: event.seatCount,
      sold: seats.booked,
      held: seats.held,
      available: seats.available,
      blocked: seats.blocked,
      source: map.source,
    },
    sales: {
      bookings: sales.bookings,
      bookings_cancelled: sales.bookingsCancelled,
      seats_booked: sales.seatsBooked,
      seats_cancelled: sales.seatsCancelled,
      seats_sold: sales.seatsBooked - sales.seatsCancelled,
      gross_cents: sales.grossCents,
      refunded_cents: sales.refundedCents,
      net_cents: sales.grossCents - sales.refundedCents,
    },
    tiers: event.priceTiers.map((tier) => ({
      price_tier: tier.id,
      name: tier.name,
      price_cents: tier.price_cents,
      seats_total: seatsByTier.get(tier.id) ?? 0,
      seats_sold: soldByTier.get(tier.id)?.seatsSold ?? 0,
      revenue_cents: soldByTier.get(tier.id)?.revenueCents ?? 0,
    })),
    bookings_per_minute: {
      window_minutes: statsWindowMinutes,
      from: new Date(sinceMs).toISOString(),
      minutes: sales.minutes.map((minute) => ({
        minute: new Date(minute.minuteMs).toISOString(),
        bookings: minute.bookings,
        seats: minute.seats,
      })),
    },
    refunds: { count: sales.refunds, cents: sales.refundedCents, failing: sales.refundsFailing },
    queue: {
      enabled: room.enabled,
      paused: room.paused,
      admit_per_minute: room.admitPerMinute,
      max_active_shoppers: room.maxActiveShoppers,
      // null: the waiting room could not answer just now.
      waiting: waiting,
      admitted_now: admitted,
    },
  };
}

/** Every seat of every booking of the event, in pages (attendees.csv), once the viewer may see them. */
export async function attendeeSeats(
  deps: Deps,
  viewer: StatsViewer,
  eventId: string,
): Promise<{ event: EventRecord; pages: AsyncIterable<AttendeeSeat[]> }> {
  const event = await requireStatsViewer(deps, viewer, eventId);
  return { event, pages: deps.stats.attendees(event.id, attendeePageBookings) };
}
