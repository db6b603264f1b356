-- Core booking schema. PostgreSQL is the judge: the booked_seats primary key makes a
-- double sale impossible whatever the code above it does (invariant 1).

CREATE TABLE events (
  id                 uuid PRIMARY KEY,
  organizer_id       text        NOT NULL,
  name               text        NOT NULL,
  category           text        NOT NULL,
  starts_at          timestamptz NOT NULL,
  venue_name         text        NOT NULL,
  venue_city         text        NOT NULL,
  sale_opens_at      timestamptz NOT NULL,
  max_seats_per_user integer     NOT NULL CHECK (max_seats_per_user > 0),
  currency           text        NOT NULL,
  price_tiers        jsonb       NOT NULL,
  -- [{name, price_tier, rows: [{label, seats, first_seat_no}]}], the map as created
  sections           jsonb       NOT NULL,
  seat_count         integer     NOT NULL CHECK (seat_count > 0),
  created_at         timestamptz NOT NULL
);
CREATE INDEX events_by_start ON events (starts_at, id);
CREATE INDEX events_by_city ON events (lower(venue_city), starts_at, id);
CREATE INDEX events_by_category ON events (category, starts_at, id);

-- One row per seat. The hold columns are the live state; a hold whose hold_expires_at
-- has passed is simply available (lazy expiry), whether or not the sweeper has run.
-- fillfactor leaves room on each page so hold updates stay HOT (no index churn).
CREATE TABLE seats (
  event_id        uuid        NOT NULL REFERENCES events (id),
  seat_no         integer     NOT NULL CHECK (seat_no >= 0),
  section         text        NOT NULL,
  row_label       text        NOT NULL,
  number          integer     NOT NULL,
  price_tier      text        NOT NULL,
  price_cents     bigint      NOT NULL,
  hold_token      bigint,
  hold_expires_at timestamptz,
  booking_id      uuid,
  version         bigint      NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id, seat_no),
  CHECK ((hold_token IS NULL) = (hold_expires_at IS NULL))
) WITH (fillfactor = 80);
CREATE INDEX seats_by_hold_token ON seats (hold_token) WHERE hold_token IS NOT NULL;

-- Fencing tokens: monotonic, issued with every hold (invariant 4).
CREATE SEQUENCE hold_fencing_token_seq;
-- Seat versions: every change to a seat takes the next value; a snapshot's version is
-- the largest version among its seats.
CREATE SEQUENCE seat_version_seq;

CREATE TABLE reservations (
  id            uuid        PRIMARY KEY,
  event_id      uuid        NOT NULL REFERENCES events (id),
  user_id       text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('active', 'confirmed', 'cancelled', 'expired')),
  fencing_token bigint      NOT NULL UNIQUE,
  seat_nos      integer[]   NOT NULL,
  total_cents   bigint      NOT NULL,
  currency      text        NOT NULL,
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  ended_at      timestamptz,
  -- The confirmation currently paying for this hold, so two confirmations with
  -- different Idempotency-Keys do not pay at the same time.
  paying_key    text,
  paying_since  timestamptz,
  -- Charges are made under a provider key derived from (reservation, payment_attempt),
  -- so whichever confirmation pays, the provider dedupes to one charge per attempt; a
  -- decline moves to the next attempt.
  payment_attempt integer   NOT NULL DEFAULT 0,
  payment_started boolean   NOT NULL DEFAULT false,
  -- Set once every charge of an ended (cancelled or expired) reservation was refunded.
  refunds_settled boolean   NOT NULL DEFAULT false
);
CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'active';
CREATE INDEX reservations_by_user ON reservations (event_id, user_id) WHERE status IN ('active', 'confirmed');
CREATE INDEX reservations_to_settle ON reservations (ended_at)
  WHERE payment_started AND NOT refunds_settled AND status IN ('cancelled', 'expired');

CREATE TABLE bookings (
  id             uuid        PRIMARY KEY,
  reservation_id uuid        NOT NULL UNIQUE REFERENCES reservations (id),
  event_id       uuid        NOT NULL REFERENCES events (id),
  user_id        text        NOT NULL,
  seat_nos       integer[]   NOT NULL,
  total_cents    bigint      NOT NULL,
  currency       text        NOT NULL,
  charge_id      text        NOT NULL,
  created_at     timestamptz NOT NULL
);
CREATE INDEX bookings_by_user ON bookings (user_id, created_at DESC, id);

-- Invariant 1: at most one confirmed booking per seat, enforced by the database.
CREATE TABLE booked_seats (
  event_id   uuid    NOT NULL,
  seat_no    integer NOT NULL,
  booking_id uuid    NOT NULL REFERENCES bookings (id),
  PRIMARY KEY (event_id, seat_no),
  FOREIGN KEY (event_id, seat_no) REFERENCES seats (event_id, seat_no)
);

-- Invariant 5: durable idempotency keys, scoped per user.
CREATE TABLE idempotency_keys (
  user_id         text        NOT NULL,
  key             text        NOT NULL,
  request_hash    text        NOT NULL,
  state           text        NOT NULL CHECK (state IN ('in_flight', 'completed')),
  -- {kind: 'booking', body} or {kind: 'error', code, detail, extensions}
  response        jsonb,
  -- The claim of the request working under this key; a takeover issues a new lease and
  -- the old holder can then neither complete the key nor refund its charge.
  lease           uuid        NOT NULL,
  -- The provider's charge made under this key, so a takeover can refund it.
  charge_id       text,
  created_at      timestamptz NOT NULL,
  locked_at       timestamptz NOT NULL,
  PRIMARY KEY (user_id, key),
  CHECK (state <> 'completed' OR response IS NOT NULL)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- The hold decision, in one round trip. Each statement of a VOLATILE PL/pgSQL function
-- takes a fresh snapshot, so the count after the advisory lock sees the user's holds
-- committed while it waited. Seats are locked with SKIP LOCKED (never waiting on another
-- request) and changed only when every requested seat was free: all or nothing.
CREATE FUNCTION hold_seats(
  p_event uuid, p_user text, p_seat_nos integer[], p_now timestamptz, p_expires timestamptz,
  p_max_per_user integer, p_currency text, p_reservation uuid)
RETURNS TABLE (out_kind text, out_token bigint, out_owned integer, out_seat_no integer,
               out_section text, out_row text, out_number integer, out_price_cents bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_owned integer;
  v_free integer[];
  v_token bigint;
BEGIN
  -- One user's concurrent holds on one event take turns, so the per-user cap holds.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_event::text || ':' || p_user, 0));
  SELECT coalesce(sum(cardinality(r.seat_nos)), 0)::integer INTO v_owned
  FROM reservations r
  WHERE r.event_id = p_event AND r.user_id = p_user
    AND (r.status = 'confirmed' OR (r.status = 'active' AND r.expires_at > p_now));
  IF v_owned + cardinality(p_seat_nos) > p_max_per_user THEN
    RETURN QUERY SELECT 'user_limit', NULL::bigint, v_owned, NULL::integer, NULL::text, NULL::text, NULL::integer, NULL::bigint;
    RETURN;
  END IF;

  SELECT array_agg(free.seat_no) INTO v_free FROM (
    SELECT s.seat_no FROM seats s
    WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos)
      AND s.booking_id IS NULL AND (s.hold_expires_at IS NULL OR s.hold_expires_at <= p_now)
    ORDER BY s.seat_no
    FOR UPDATE SKIP LOCKED) AS free;
  IF coalesce(cardinality(v_free), 0) <> cardinality(p_seat_nos) THEN
    RETURN QUERY SELECT 'conflict', NULL::bigint, v_owned, wanted.seat_no, NULL::text, NULL::text, NULL::integer, NULL::bigint
      FROM unnest(p_seat_nos) AS wanted(seat_no)
      WHERE NOT (wanted.seat_no = ANY(coalesce(v_free, '{}')));
    RETURN;
  END IF;

  v_token := nextval('hold_fencing_token_seq');
  UPDATE seats s SET hold_token = v_token, hold_expires_at = p_expires, version = nextval('seat_version_seq')
  WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos);
  INSERT INTO reservations (id, event_id, user_id, status, fencing_token, seat_nos, total_cents, currency, created_at, expires_at)
  SELECT p_reservation, p_event, p_user, 'active', v_token, p_seat_nos, sum(s.price_cents), p_currency, p_now, p_expires
  FROM seats s WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos);
  RETURN QUERY SELECT 'held', v_token, v_owned, s.seat_no, s.section, s.row_label, s.number, s.price_cents
    FROM seats s WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos) ORDER BY s.seat_no;
END
$$;

-- The booking decision, in one round trip. Checks the caller's lease on its
-- Idempotency-Key first (a request whose key was taken over must neither book nor store
-- an answer), then the reservation, then moves the seats to booked under the fencing
-- token, writes the booking and booked_seats (whose primary key refuses a double sale),
-- and stores the answer under the key, all in the caller's one statement.
-- Answers: 'lease_lost'; 'confirmed' with p_booked_response; 'hold_lost' with the refusal
-- for the reservation's status from p_refusals. If the seats are no longer all held under
-- the token (a host with a clock running ahead re-held one), the reservation is ended as
-- expired, its remaining seats freed, and the answer is 'hold_lost'.
CREATE FUNCTION confirm_reservation(
  p_reservation uuid, p_user text, p_key text, p_lease uuid, p_now timestamptz,
  p_booking uuid, p_charge text, p_booked_response jsonb, p_refusals jsonb)
RETURNS TABLE (out_kind text, out_response jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r reservations%ROWTYPE;
  v_status text;
  v_kind text;
  v_response jsonb;
  v_moved integer;
BEGIN
  PERFORM 1 FROM idempotency_keys k
  WHERE k.user_id = p_user AND k.key = p_key AND k.state = 'in_flight' AND k.lease = p_lease
  FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'lease_lost', NULL::jsonb;
    RETURN;
  END IF;

  SELECT * INTO r FROM reservations WHERE id = p_reservation FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'reservation % does not exist', p_reservation USING ERRCODE = 'BX002';
  END IF;
  v_status := CASE WHEN r.status = 'active' AND r.expires_at <= p_now THEN 'expired' ELSE r.status END;
  IF v_status = 'active' THEN
    -- The fencing check: every seat still held under this reservation's token, live now.
    SELECT count(*) INTO v_moved FROM (
      SELECT 1 FROM seats s
      WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos)
        AND s.hold_token = r.fencing_token AND s.hold_expires_at > p_now
      FOR UPDATE) AS held;
    IF v_moved <> cardinality(r.seat_nos) THEN
      UPDATE reservations SET status = 'expired', ended_at = p_now, paying_key = NULL, paying_since = NULL
      WHERE id = r.id;
      UPDATE seats s SET hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
      WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token;
      v_status := 'expired';
    END IF;
  END IF;
  IF v_status = 'active' THEN
    UPDATE seats s
    SET hold_token = NULL, hold_expires_at = NULL, booking_id = p_booking, version = nextval('seat_version_seq')
    WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token;
    INSERT INTO bookings (id, reservation_id, event_id, user_id, seat_nos, total_cents, currency, charge_id, created_at)
    VALUES (p_booking, r.id, r.event_id, r.user_id, r.seat_nos, r.total_cents, r.currency, p_charge, p_now);
    INSERT INTO booked_seats (event_id, seat_no, booking_id) SELECT r.event_id, unnest(r.seat_nos), p_booking;
    UPDATE reservations
    SET status = 'confirmed', ended_at = p_now, paying_key = NULL, paying_since = NULL
    WHERE id = r.id;
    v_kind := 'confirmed';
    v_response := p_booked_response;
  ELSE
    v_kind := 'hold_lost';
    v_response := p_refusals -> v_status;
    IF v_status = 'confirmed' THEN
      v_response := jsonb_set(v_response, '{extensions,booking_id}',
                              to_jsonb((SELECT b.id FROM bookings b WHERE b.reservation_id = r.id)));
    END IF;
  END IF;

  IF v_response IS NULL THEN
    RAISE EXCEPTION 'no answer for reservation % in state %', r.id, v_status USING ERRCODE = 'BX002';
  END IF;
  UPDATE idempotency_keys k SET state = 'completed', response = v_response
  WHERE k.user_id = p_user AND k.key = p_key;
  RETURN QUERY SELECT v_kind, v_response;
END
$$;
