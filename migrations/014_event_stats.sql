-- The organizer's live view of a sale (issue 20): per-event figures kept by the `stats`
-- consumer of the fact bus (adapters/postgres/event-stats.ts), each fact applied once
-- (consumed_facts, in the transaction of these changes). Live figures that are not facts
-- (seats held and available now, the waiting room) are read where they live.
--
-- Every figure counts facts of bookings, so it can be recomputed from the tables they
-- come from; the backfill at the end does exactly that for the sales made before it.

-- One row per event with sales.
CREATE TABLE event_stats (
  event_id        uuid        PRIMARY KEY,
  -- booking.confirmed facts, and the seats and money they booked (as paid).
  bookings        integer     NOT NULL DEFAULT 0,
  seats_booked    integer     NOT NULL DEFAULT 0,
  gross_cents     bigint      NOT NULL DEFAULT 0,
  -- booking.cancelled facts: seats taken back (buyer, organizer, event cancellation),
  -- and the bookings left with no seat.
  seats_cancelled integer     NOT NULL DEFAULT 0,
  bookings_cancelled integer  NOT NULL DEFAULT 0,
  -- refund.succeeded facts of bookings' refunds (a charge that never booked is not a sale).
  refunds         integer     NOT NULL DEFAULT 0,
  refunded_cents  bigint      NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Seats booked now and what they were sold for, by price tier (the seat's tier and price,
-- read from seats: the facts name seats, not tiers).
CREATE TABLE event_stats_tiers (
  event_id      uuid    NOT NULL,
  price_tier    text    NOT NULL,
  seats_sold    integer NOT NULL DEFAULT 0,
  revenue_cents bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id, price_tier)
);

-- Bookings per minute (the minute the booking was made), for the sale's chart.
CREATE TABLE event_stats_minutes (
  event_id uuid        NOT NULL,
  minute   timestamptz NOT NULL,
  bookings integer     NOT NULL DEFAULT 0,
  seats    integer     NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id, minute)
);

-- Bookings' refunds that failed and have not succeeded since (refund.failed, then
-- refund.succeeded removes the row); the facts of one refund may arrive out of order
-- after a redelivery, so a success is remembered (status) and wins.
CREATE TABLE event_stats_refunds (
  refund_id uuid PRIMARY KEY,
  event_id  uuid NOT NULL,
  status    text NOT NULL CHECK (status IN ('failed', 'succeeded'))
);
CREATE INDEX event_stats_refunds_failing ON event_stats_refunds (event_id) WHERE status = 'failed';

-- attendees.csv pages through an event's bookings in the order they were made (before
-- this, an event's bookings could only be found by reading every booking).
CREATE INDEX bookings_by_event ON bookings (event_id, created_at, id);

-- The backfill: the sales already made. Facts are written by triggers in the transaction
-- of each change; holding the outbox against writers makes this read and the facts
-- already written one consistent state (a change still waiting to write its fact has not
-- committed, so it is in neither and reaches the consumer as a fact). The facts in the
-- outbox now are marked applied: their effects are in the backfill.
LOCK TABLE outbox IN EXCLUSIVE MODE;

INSERT INTO event_stats (event_id, bookings, seats_booked, gross_cents, seats_cancelled, bookings_cancelled)
SELECT b.event_id, count(*), sum(cardinality(b.seat_nos)) + coalesce(sum(rs.seats), 0), sum(b.total_cents),
       coalesce(sum(rs.seats), 0), count(*) FILTER (WHERE b.status = 'cancelled')
FROM bookings b
LEFT JOIN (SELECT booking_id, count(*) AS seats FROM refunded_seats GROUP BY booking_id) rs ON rs.booking_id = b.id
GROUP BY b.event_id;

UPDATE event_stats s SET refunds = f.refunds, refunded_cents = f.cents
FROM (SELECT b.event_id, count(*) AS refunds, sum(f.amount_cents) AS cents
      FROM refunds f JOIN bookings b ON b.id = f.booking_id WHERE f.status = 'succeeded' GROUP BY b.event_id) f
WHERE f.event_id = s.event_id;

INSERT INTO event_stats_tiers (event_id, price_tier, seats_sold, revenue_cents)
SELECT s.event_id, s.price_tier, count(*), sum(s.price_cents)
FROM booked_seats bs JOIN seats s ON s.event_id = bs.event_id AND s.seat_no = bs.seat_no
GROUP BY s.event_id, s.price_tier;

INSERT INTO event_stats_minutes (event_id, minute, bookings, seats)
SELECT b.event_id, date_trunc('minute', b.created_at), count(*),
       sum(cardinality(b.seat_nos) + coalesce(rs.seats, 0))
FROM bookings b
LEFT JOIN (SELECT booking_id, count(*) AS seats FROM refunded_seats GROUP BY booking_id) rs ON rs.booking_id = b.id
GROUP BY 1, 2;

INSERT INTO event_stats_refunds (refund_id, event_id, status)
SELECT f.id, b.event_id, 'failed' FROM refunds f JOIN bookings b ON b.id = f.booking_id WHERE f.status = 'failed';

INSERT INTO consumed_facts (consumer, fact_id) SELECT 'stats', fact_id FROM outbox ON CONFLICT DO NOTHING;
