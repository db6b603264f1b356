// An event's sales on PostgreSQL / PGlite (migration 014): the `stats` consumer of the fact
// bus that keeps them, and the reads of them and of the event's attendees.
//
// The consumer adds each batch's changes in the transaction that records its facts as
// applied (applyNewFacts), so a fact delivered again adds nothing. Every change is a sum,
// so facts of different events, or a batch redelivered out of order, add up the same.
// The facts name seats, not price tiers: a seat's tier and price are read from seats in
// the same transaction (they never change once the sale has begun).
import type { Fact } from '../../app/ports/facts.ts';
import type { AttendeeSeat, EventStatsStore, SalesFigures } from '../../app/ports/event-stats.ts';
import type { FactConsumer } from '../bus/fact-bus.ts';
import type { Database, SqlExecutor } from './database.ts';
import { ts } from './sql.ts';

const minuteMs = 60_000;

interface EventDelta {
  event_id: string;
  bookings: number;
  seats_booked: number;
  gross_cents: number;
  seats_cancelled: number;
  bookings_cancelled: number;
  refunds: number;
  refunded_cents: number;
}

interface TierDelta {
  event_id: string;
  price_tier: string;
  seats_sold: number;
  revenue_cents: number;
}

interface MinuteDelta {
  event_id: string;
  minute: string;
  bookings: number;
  seats: number;
}

const seatNosOf = (fact: Fact) => (fact.payload.seat_nos as number[] | null) ?? [];

/** Upserts that add, in key order (two processes' consumers lock rows in the same order). */
const byKey = <T>(rows: Map<string, T>) => [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);

function entry<T>(rows: Map<string, T>, key: string, make: () => T): T {
  let row = rows.get(key);
  if (!row) {
    row = make();
    rows.set(key, row);
  }
  return row;
}

export const statsConsumer: FactConsumer = {
  name: 'stats',
  async apply(facts, tx) {
    const seatFacts = facts.filter((fact) => fact.type === 'booking.confirmed' || fact.type === 'booking.cancelled');
    const seats = await seatPrices(tx, seatFacts);
    const events = new Map<string, EventDelta>();
    const tiers = new Map<string, TierDelta>();
    const minutes = new Map<string, MinuteDelta>();
    const failed: { refund_id: string; event_id: string }[] = [];
    const succeeded: { refund_id: string; event_id: string; amount_cents: number }[] = [];
    const eventOf = (eventId: string) =>
      entry(events, eventId, () => ({
        event_id: eventId,
        bookings: 0,
        seats_booked: 0,
        gross_cents: 0,
        seats_cancelled: 0,
        bookings_cancelled: 0,
        refunds: 0,
        refunded_cents: 0,
      }));
    const addSeats = (fact: Fact, sign: 1 | -1) => {
      for (const seatNo of seatNosOf(fact)) {
        const seat = seats.get(`${fact.eventId}:${seatNo}`);
        if (!seat) continue; // a seat is never deleted; kept safe all the same
        const tier = entry(tiers, `${fact.eventId}:${seat.price_tier}`, () => ({
          event_id: fact.eventId,
          price_tier: seat.price_tier,
          seats_sold: 0,
          revenue_cents: 0,
        }));
        tier.seats_sold += sign;
        tier.revenue_cents += sign * Number(seat.price_cents);
      }
    };

    for (const fact of facts) {
      const payload = fact.payload;
      switch (fact.type) {
        case 'booking.confirmed': {
          const event = eventOf(fact.eventId);
          const seatCount = seatNosOf(fact).length;
          event.bookings += 1;
          event.seats_booked += seatCount;
          event.gross_cents += Number(payload.total_cents ?? 0);
          addSeats(fact, 1);
          const at = Date.parse(String(payload.occurred_at));
          const minute = new Date(Math.floor((Number.isNaN(at) ? fact.writtenAtMs : at) / minuteMs) * minuteMs);
          const bucket = entry(minutes, `${fact.eventId}:${minute.toISOString()}`, () => ({
            event_id: fact.eventId,
            minute: minute.toISOString(),
            bookings: 0,
            seats: 0,
          }));
          bucket.bookings += 1;
          bucket.seats += seatCount;
          break;
        }
        case 'booking.cancelled': {
          const event = eventOf(fact.eventId);
          event.seats_cancelled += seatNosOf(fact).length;
          if (payload.status === 'cancelled') event.bookings_cancelled += 1;
          addSeats(fact, -1);
          break;
        }
        case 'refund.succeeded':
          // A charge that never booked (booking_id null) is given back whole: not a sale's refund.
          if (payload.booking_id) {
            succeeded.push({
              refund_id: String(payload.refund_id),
              event_id: fact.eventId,
              amount_cents: Number(payload.amount_cents ?? 0),
            });
          }
          break;
        case 'refund.failed':
          if (payload.booking_id) failed.push({ refund_id: String(payload.refund_id), event_id: fact.eventId });
          break;
        default:
          break; // event.cancelled, seats.released: what they change is read live
      }
    }

    // A refund counts once it succeeded, and once only (its row says it did).
    const newlySucceeded = await recordRefunds(tx, failed, succeeded);
    const amounts = new Map(succeeded.map((refund) => [refund.refund_id, refund.amount_cents]));
    for (const refund of newlySucceeded) {
      const event = eventOf(refund.event_id);
      event.refunds += 1;
      event.refunded_cents += amounts.get(refund.refund_id) ?? 0;
    }

    if (events.size > 0) {
      await tx.query(
        `INSERT INTO event_stats AS s (event_id, bookings, seats_booked, gross_cents, seats_cancelled,
                                       bookings_cancelled, refunds, refunded_cents)
         SELECT d.event_id, d.bookings, d.seats_booked, d.gross_cents, d.seats_cancelled, d.bookings_cancelled,
                d.refunds, d.refunded_cents
         FROM jsonb_to_recordset($1::jsonb) AS d(event_id uuid, bookings int, seats_booked int, gross_cents bigint,
              seats_cancelled int, bookings_cancelled int, refunds int, refunded_cents bigint)
         ON CONFLICT (event_id) DO UPDATE SET
           bookings = s.bookings + excluded.bookings, seats_booked = s.seats_booked + excluded.seats_booked,
           gross_cents = s.gross_cents + excluded.gross_cents,
           seats_cancelled = s.seats_cancelled + excluded.seats_cancelled,
           bookings_cancelled = s.bookings_cancelled + excluded.bookings_cancelled,
           refunds = s.refunds + excluded.refunds, refunded_cents = s.refunded_cents + excluded.refunded_cents,
           updated_at = clock_timestamp()`,
        [JSON.stringify(byKey(events))],
      );
    }
    if (tiers.size > 0) {
      await tx.query(
        `INSERT INTO event_stats_tiers AS t (event_id, price_tier, seats_sold, revenue_cents)
         SELECT d.event_id, d.price_tier, d.seats_sold, d.revenue_cents
         FROM jsonb_to_recordset($1::jsonb) AS d(event_id uuid, price_tier text, seats_sold int, revenue_cents bigint)
         ON CONFLICT (event_id, price_tier) DO UPDATE SET
           seats_sold = t.seats_sold + excluded.seats_sold, revenue_cents = t.revenue_cents + excluded.revenue_cents`,
        [JSON.stringify(byKey(tiers))],
      );
    }
    if (minutes.size > 0) {
      await tx.query(
        `INSERT INTO event_stats_minutes AS m (event_id, minute, bookings, seats)
         SELECT d.event_id, d.minute, d.bookings, d.seats
         FROM jsonb_to_recordset($1::jsonb) AS d(event_id uuid, minute timestamptz, bookings int, seats int)
         ON CONFLICT (event_id, minute) DO UPDATE SET
           bookings = m.bookings + excluded.bookings, seats = m.seats + excluded.seats`,
        [JSON.stringify(byKey(minutes))],
      );
    }
  },
};

/** The tier and price of every seat the facts name, by "event:seat". */
async function seatPrices(tx: SqlExecutor, facts: Fact[]) {
  const eventIds: string[] = [];
  const seatNos: number[] = [];
  for (const fact of facts) {
    for (const seatNo of seatNosOf(fact)) {
      eventIds.push(fact.eventId);
      seatNos.push(seatNo);
    }
  }
  const seats = new Map<string, { price_tier: string; price_cents: string | number }>();
  if (seatNos.length === 0) return seats;
  const { rows } = await tx.query<{ event_id: string; seat_no: number; price_tier: string; price_cents: string }>(
    `SELECT s.event_id, s.seat_no, s.price_tier, s.price_cents
     FROM (SELECT DISTINCT * FROM unnest($1::uuid[], $2::int[]) AS u(event_id, seat_no)) u
     JOIN seats s ON s.event_id = u.event_id AND s.seat_no = u.seat_no`,
    [eventIds, seatNos],
  );
  for (const row of rows) seats.set(`${row.event_id}:${row.seat_no}`, row);
  return seats;
}

/**
 * Records failures (unless the refund already succeeded) and successes; answers the
 * refunds whose success is new. A success wins over a failure whatever order they arrive in.
 */
async function recordRefunds(
  tx: SqlExecutor,
  failed: { refund_id: string; event_id: string }[],
  succeeded: { refund_id: string; event_id: string; amount_cents: number }[],
) {
  const sorted = (rows: { refund_id: string }[]) => [...rows].sort((a, b) => (a.refund_id < b.refund_id ? -1 : 1));
  if (failed.length > 0) {
    await tx.query(
      `INSERT INTO event_stats_refunds (refund_id, event_id, status)
       SELECT d.refund_id, d.event_id, 'failed' FROM jsonb_to_recordset($1::jsonb) AS d(refund_id uuid, event_id uuid)
       ON CONFLICT (refund_id) DO NOTHING`,
      [JSON.stringify(sorted(failed))],
    );
  }
  if (succeeded.length === 0) return [];
  const { rows } = await tx.query<{ refund_id: string; event_id: string }>(
    `WITH given AS (
       SELECT DISTINCT d.refund_id, d.event_id FROM jsonb_to_recordset($1::jsonb) AS d(refund_id uuid, event_id uuid)
     ), before AS (
       SELECT r.refund_id FROM event_stats_refunds r JOIN given g USING (refund_id) WHERE r.status = 'succeeded'
     )
     INSERT INTO event_stats_refunds AS r (refund_id, event_id, status)
     SELECT g.refund_id, g.event_id, 'succeeded' FROM given g
     WHERE NOT EXISTS (SELECT 1 FROM before b WHERE b.refund_id = g.refund_id)
     ORDER BY g.refund_id
     ON CONFLICT (refund_id) DO UPDATE SET status = 'succeeded'
     RETURNING r.refund_id, r.event_id`,
    [JSON.stringify(sorted(succeeded))],
  );
  return rows;
}

interface SalesRow {
  totals: Record<string, number> | null;
  tiers: { price_tier: string; seats_sold: number; revenue_cents: number }[];
  minutes: { minute_ms: number; bookings: number; seats: number }[];
  failing: number;
}

interface AttendeeRow {
  booking_id: string;
  buyer: string;
  seat_no: number;
  section: string;
  row_label: string;
  number: number;
  price_tier: string;
  price_cents: string;
  status: 'booked' | 'refunded';
  checked_in_at: Date | null;
  created_at: Date;
  cursor_at: string;
}

export class PostgresEventStats implements EventStatsStore {
  constructor(private readonly db: Database) {}

  async sales(eventId: string, sinceMs: number): Promise<SalesFigures> {
    const { rows } = await this.db.query<SalesRow>(
      `SELECT
         (SELECT to_jsonb(s) FROM event_stats s WHERE s.event_id = $1) AS totals,
         (SELECT coalesce(jsonb_agg(jsonb_build_object('price_tier', t.price_tier, 'seats_sold', t.seats_sold,
                   'revenue_cents', t.revenue_cents) ORDER BY t.price_tier), '[]'::jsonb)
          FROM event_stats_tiers t WHERE t.event_id = $1) AS tiers,
         (SELECT coalesce(jsonb_agg(jsonb_build_object('minute_ms', (extract(epoch FROM m.minute) * 1000)::bigint,
                   'bookings', m.bookings, 'seats', m.seats) ORDER BY m.minute), '[]'::jsonb)
          FROM event_stats_minutes m WHERE m.event_id = $1 AND m.minute >= $2) AS minutes,
         (SELECT count(*)::int FROM event_stats_refunds r WHERE r.event_id = $1 AND r.status = 'failed') AS failing`,
      [eventId, ts(sinceMs)],
    );
    const row = rows[0]!;
    const totals = row.totals ?? {};
    const figure = (name: string) => Number(totals[name] ?? 0);
    return {
      bookings: figure('bookings'),
      bookingsCancelled: figure('bookings_cancelled'),
      seatsBooked: figure('seats_booked'),
      seatsCancelled: figure('seats_cancelled'),
      grossCents: figure('gross_cents'),
      refunds: figure('refunds'),
      refundedCents: figure('refunded_cents'),
      refundsFailing: row.failing,
      tiers: row.tiers
        .filter((tier) => tier.seats_sold !== 0 || Number(tier.revenue_cents) !== 0)
        .map((tier) => ({
          priceTier: tier.price_tier,
          seatsSold: tier.seats_sold,
          revenueCents: Number(tier.revenue_cents),
        })),
      minutes: row.minutes.map((minute) => ({
        minuteMs: Number(minute.minute_ms),
        bookings: minute.bookings,
        seats: minute.seats,
      })),
    };
  }

  async *attendees(eventId: string, pageBookings: number): AsyncIterable<AttendeeSeat[]> {
    // Keyset pages over (created_at, id): the cursor is the instant as PostgreSQL wrote it
    // (microseconds; a JavaScript Date would round it to milliseconds and repeat rows).
    let after: { at: string; id: string } | null = null;
    for (;;) {
      const result: { rows: AttendeeRow[] } = await this.db.query<AttendeeRow>(
        `WITH page AS (
           SELECT b.id, coalesce(b.email, b.user_id) AS buyer, b.seat_nos, b.created_at FROM bookings b
           WHERE b.event_id = $1 AND ($2::timestamptz IS NULL OR (b.created_at, b.id) > ($2::timestamptz, $3::uuid))
           ORDER BY b.created_at, b.id LIMIT $4
         )
         SELECT p.id AS booking_id, p.buyer, x.seat_no, x.status, s.section, s.row_label, s.number, s.price_tier,
                s.price_cents, c.checked_in_at, p.created_at, p.created_at::text AS cursor_at
         FROM page p
         CROSS JOIN LATERAL (
           SELECT unnest(p.seat_nos) AS seat_no, 'booked' AS status
           UNION ALL
           SELECT rs.seat_no, 'refunded' FROM refunded_seats rs WHERE rs.booking_id = p.id
         ) x
         JOIN seats s ON s.event_id = $1 AND s.seat_no = x.seat_no
         LEFT JOIN checkins c ON c.booking_id = p.id AND c.seat_no = x.seat_no
         ORDER BY p.created_at, p.id, x.seat_no`,
        [eventId, after?.at ?? null, after?.id ?? null, pageBookings],
      );
      const rows = result.rows;
      if (rows.length === 0) return;
      yield rows.map((row): AttendeeSeat => ({
        bookingId: row.booking_id,
        buyer: row.buyer,
        seatNo: row.seat_no,
        section: row.section,
        row: row.row_label,
        number: row.number,
        priceTier: row.price_tier,
        priceCents: Number(row.price_cents),
        status: row.status,
        checkedInAtMs: row.checked_in_at ? row.checked_in_at.getTime() : null,
        bookedAtMs: row.created_at.getTime(),
      }));
      const last: AttendeeRow = rows[rows.length - 1]!;
      after = { at: last.cursor_at, id: last.booking_id };
    }
  }
}
