-- After the sale (issue 18): the transactional outbox, the bus's bookkeeping, tickets'
-- check-ins and the mail queue.
--
-- Facts are written by triggers, in the transaction of the change itself, so no code path
-- (a confirmation, a webhook, a batch, a cancellation job, the sweeper) can change a
-- booking without its fact, and a rolled-back change leaves none:
--   booking.confirmed            a booking was inserted
--   booking.cancelled            a booking gave back seats (partially_cancelled or cancelled)
--   refund.succeeded             a refund reached 'succeeded'
--   refund.failed                a refund reached 'failed' (once per run of failures)
--   event.cancelled              an event's status became 'cancelled'
--   seats.released               a hold ended without a booking (expired or cancelled)
-- The relay (adapters/postgres/outbox-relay.ts) publishes them in id order and stamps each
-- with published_seq, a gap-free order assigned under outbox_relay's row lock (one relay
-- at a time). Trigger functions stay here, bound to their triggers (migrations/README.md).

CREATE TABLE outbox (
  id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  fact_id       uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  type          text        NOT NULL,
  -- The event (the show) the fact belongs to: the order key of the stream's readers.
  event_id      uuid        NOT NULL,
  payload       jsonb       NOT NULL,
  -- Wall time of the commit's statement, for lag figures (business time is in payload).
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_seq bigint      UNIQUE,
  published_at  timestamptz,
  CHECK ((published_seq IS NULL) = (published_at IS NULL))
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_seq IS NULL;

-- One row: the last published_seq given. Its row lock makes one relay at a time.
CREATE TABLE outbox_relay (
  id       integer PRIMARY KEY CHECK (id = 1),
  last_seq bigint  NOT NULL
);
INSERT INTO outbox_relay (id, last_seq) VALUES (1, 0);

-- What each consumer has applied: a fact delivered again (at-least-once) is skipped.
CREATE TABLE consumed_facts (
  consumer   text        NOT NULL,
  fact_id    uuid        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (consumer, fact_id)
);
CREATE INDEX consumed_facts_by_time ON consumed_facts (applied_at);

-- The database bus (no Redis): how far each consumer has read, by published_seq.
CREATE TABLE bus_offsets (
  consumer text   PRIMARY KEY,
  last_seq bigint NOT NULL
);

-- The buyer's address (the sign-in token's email claim), kept from the confirmation.
ALTER TABLE reservations ADD COLUMN buyer_email text;
ALTER TABLE bookings ADD COLUMN email text;

-- A charge pays for one booking, and is found by it: refunds_guard (every refund) and
-- book_reservation (a charge that did not book) look bookings up by charge, which read the
-- whole table without this index.
CREATE UNIQUE INDEX bookings_by_charge ON bookings (charge_id);

-- A ticket is a booked seat (booking, seat): valid while the booking holds the seat,
-- revoked once refunded (refunded_seats), checked in here, once (the primary key).
CREATE TABLE checkins (
  booking_id    uuid        NOT NULL REFERENCES bookings (id),
  seat_no       integer     NOT NULL,
  event_id      uuid        NOT NULL,
  checked_in_at timestamptz NOT NULL,
  checked_in_by text        NOT NULL,
  PRIMARY KEY (booking_id, seat_no)
);
CREATE INDEX checkins_by_event ON checkins (event_id, checked_in_at);

-- Secrets the service makes for itself once, shared by every process on this database:
-- the ticket signing key used when TICKET_SIGNING_KEYS is not set.
CREATE TABLE service_secrets (
  name       text        PRIMARY KEY,
  secret     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Mail to send, one row per (fact, kind of mail): a fact delivered twice queues it once.
CREATE TABLE mails (
  id              text        PRIMARY KEY,
  fact_id         uuid        NOT NULL,
  kind            text        NOT NULL
                  CHECK (kind IN ('booking_confirmed', 'refund', 'event_cancelled', 'your_turn')),
  to_address      text        NOT NULL,
  payload         jsonb       NOT NULL,
  -- pending: to send (or being sent, until next_attempt_at); failed: retried from
  -- next_attempt_at with backoff; sent.
  status          text        NOT NULL CHECK (status IN ('pending', 'failed', 'sent')),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error      text,
  created_at      timestamptz NOT NULL,
  sent_at         timestamptz
);
CREATE INDEX mails_due ON mails (next_attempt_at) WHERE status <> 'sent';

CREATE FUNCTION outbox_booking_facts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_seats integer[];
  v_refund uuid;
  v_amount bigint;
  v_reason text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO outbox (type, event_id, payload) VALUES ('booking.confirmed', NEW.event_id, jsonb_build_object(
      'booking_id', NEW.id, 'reservation_id', NEW.reservation_id, 'user_id', NEW.user_id, 'email', NEW.email,
      'seat_nos', to_jsonb(NEW.seat_nos), 'total_cents', NEW.total_cents, 'currency', NEW.currency,
      'occurred_at', NEW.created_at));
  ELSE
    v_seats := ARRAY(SELECT unnest(OLD.seat_nos) EXCEPT SELECT unnest(NEW.seat_nos) ORDER BY 1);
    -- cancel_booking() wrote the seats' refund (if anything was due) before this update.
    SELECT f.id, f.amount_cents, f.reason INTO v_refund, v_amount, v_reason
    FROM refunded_seats rs JOIN refunds f ON f.id = rs.refund_id
    WHERE rs.booking_id = NEW.id AND rs.seat_no = v_seats[1];
    IF v_reason IS NULL THEN
      SELECT CASE WHEN e.status = 'cancelled' THEN 'event_cancelled' END INTO v_reason FROM events e WHERE e.id = NEW.event_id;
    END IF;
    INSERT INTO outbox (type, event_id, payload) VALUES ('booking.cancelled', NEW.event_id, jsonb_build_object(
      'booking_id', NEW.id, 'user_id', NEW.user_id, 'email', NEW.email, 'status', NEW.status,
      'seat_nos', to_jsonb(v_seats), 'seats_left', to_jsonb(NEW.seat_nos), 'refund_id', v_refund,
      'refund_cents', coalesce(v_amount, 0), 'currency', NEW.currency, 'reason', v_reason));
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_booking_confirmed AFTER INSERT ON bookings
  FOR EACH ROW EXECUTE FUNCTION outbox_booking_facts();
CREATE TRIGGER outbox_booking_cancelled AFTER UPDATE OF seat_nos ON bookings
  FOR EACH ROW WHEN (OLD.seat_nos IS DISTINCT FROM NEW.seat_nos) EXECUTE FUNCTION outbox_booking_facts();

CREATE FUNCTION outbox_refund_facts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_event uuid;
  v_email text;
  v_currency text;
BEGIN
  SELECT r.event_id, coalesce(b.email, r.buyer_email), p.currency INTO v_event, v_email, v_currency
  FROM payments p JOIN reservations r ON r.id = p.reservation_id LEFT JOIN bookings b ON b.id = NEW.booking_id
  WHERE p.id = NEW.payment_id;
  INSERT INTO outbox (type, event_id, payload) VALUES ('refund.' || NEW.status, v_event, jsonb_build_object(
    'refund_id', NEW.id, 'booking_id', NEW.booking_id, 'email', v_email, 'amount_cents', NEW.amount_cents,
    'fee_cents', NEW.fee_cents, 'currency', v_currency, 'seat_nos', to_jsonb(NEW.seat_nos), 'reason', NEW.reason,
    'attempts', NEW.attempts, 'occurred_at', NEW.updated_at));
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_refund_settled AFTER UPDATE OF status ON refunds
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('succeeded', 'failed'))
  EXECUTE FUNCTION outbox_refund_facts();

CREATE FUNCTION outbox_event_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbox (type, event_id, payload) VALUES ('event.cancelled', NEW.id, jsonb_build_object(
    'event_id', NEW.id, 'name', NEW.name, 'starts_at', NEW.starts_at, 'organizer_id', NEW.organizer_id));
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_event_cancelled AFTER UPDATE OF status ON events
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status = 'cancelled')
  EXECUTE FUNCTION outbox_event_facts();

CREATE FUNCTION outbox_release_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbox (type, event_id, payload) VALUES ('seats.released', NEW.event_id, jsonb_build_object(
    'reservation_id', NEW.id, 'user_id', NEW.user_id, 'seat_nos', to_jsonb(NEW.seat_nos), 'reason', NEW.status,
    'occurred_at', NEW.ended_at));
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_seats_released AFTER UPDATE OF status ON reservations
  FOR EACH ROW WHEN (OLD.status = 'active' AND NEW.status IN ('expired', 'cancelled'))
  EXECUTE FUNCTION outbox_release_facts();
