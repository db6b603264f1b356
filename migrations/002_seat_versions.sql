-- The hot path (Redis or the in-process board) mirrors seat states and applies changes
-- last-writer-wins by each seat's row version, so changes may arrive in any order and a
-- rebuild from PostgreSQL can never undo a newer change. For that, the two decision
-- functions now also report the version each changed seat got. Their logic is unchanged
-- from 001_core.sql, but for the order of hold_seats()' two refusals (see below).

DROP FUNCTION hold_seats(uuid, text, integer[], timestamptz, timestamptz, integer, text, uuid);
DROP FUNCTION confirm_reservation(uuid, text, text, uuid, timestamptz, uuid, text, jsonb, jsonb);

-- As in 001_core.sql, except that a seat conflict is answered before the per-user cap
-- (the order the hold gate answers in); 'held' rows carry out_version, the seat's new version.
CREATE FUNCTION hold_seats(
  p_event uuid, p_user text, p_seat_nos integer[], p_now timestamptz, p_expires timestamptz,
  p_max_per_user integer, p_currency text, p_reservation uuid)
RETURNS TABLE (out_kind text, out_token bigint, out_owned integer, out_seat_no integer,
               out_section text, out_row text, out_number integer, out_price_cents bigint,
               out_version bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_owned integer;
  v_free integer[];
  v_token bigint;
BEGIN
  -- One user's concurrent holds on one event take turns, so the per-user cap holds.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_event::text || ':' || p_user, 0));
  -- Seats first, then the cap: a request for seats that are taken is a conflict whatever
  -- the user holds, as the hold gate (which knows seats, not users) answers it.
  SELECT array_agg(free.seat_no) INTO v_free FROM (
    SELECT s.seat_no FROM seats s
    WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos)
      AND s.booking_id IS NULL AND (s.hold_expires_at IS NULL OR s.hold_expires_at <= p_now)
    ORDER BY s.seat_no
    FOR UPDATE SKIP LOCKED) AS free;
  IF coalesce(cardinality(v_free), 0) <> cardinality(p_seat_nos) THEN
    RETURN QUERY SELECT 'conflict', NULL::bigint, NULL::integer, wanted.seat_no, NULL::text, NULL::text, NULL::integer, NULL::bigint, NULL::bigint
      FROM unnest(p_seat_nos) AS wanted(seat_no)
      WHERE NOT (wanted.seat_no = ANY(coalesce(v_free, '{}')));
    RETURN;
  END IF;

  SELECT coalesce(sum(cardinality(r.seat_nos)), 0)::integer INTO v_owned
  FROM reservations r
  WHERE r.event_id = p_event AND r.user_id = p_user
    AND (r.status = 'confirmed' OR (r.status = 'active' AND r.expires_at > p_now));
  IF v_owned + cardinality(p_seat_nos) > p_max_per_user THEN
    RETURN QUERY SELECT 'user_limit', NULL::bigint, v_owned, NULL::integer, NULL::text, NULL::text, NULL::integer, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;

  v_token := nextval('hold_fencing_token_seq');
  UPDATE seats s SET hold_token = v_token, hold_expires_at = p_expires, version = nextval('seat_version_seq')
  WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos);
  INSERT INTO reservations (id, event_id, user_id, status, fencing_token, seat_nos, total_cents, currency, created_at, expires_at)
  SELECT p_reservation, p_event, p_user, 'active', v_token, p_seat_nos, sum(s.price_cents), p_currency, p_now, p_expires
  FROM seats s WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos);
  RETURN QUERY SELECT 'held', v_token, v_owned, s.seat_no, s.section, s.row_label, s.number, s.price_cents, s.version
    FROM seats s WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos) ORDER BY s.seat_no;
END
$$;

-- As in 001_core.sql; out_changes is [[seat_no, version, status], ...] of the seats this
-- call changed: 'booked' when confirmed, 'available' when a fencing mismatch freed them.
CREATE FUNCTION confirm_reservation(
  p_reservation uuid, p_user text, p_key text, p_lease uuid, p_now timestamptz,
  p_booking uuid, p_charge text, p_booked_response jsonb, p_refusals jsonb)
RETURNS TABLE (out_kind text, out_response jsonb, out_changes jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r reservations%ROWTYPE;
  v_status text;
  v_kind text;
  v_response jsonb;
  v_moved integer;
  v_changes jsonb := '[]';
BEGIN
  PERFORM 1 FROM idempotency_keys k
  WHERE k.user_id = p_user AND k.key = p_key AND k.state = 'in_flight' AND k.lease = p_lease
  FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'lease_lost', NULL::jsonb, '[]'::jsonb;
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
      WITH freed AS (
        UPDATE seats s SET hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
        WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
        RETURNING s.seat_no, s.version)
      SELECT coalesce(jsonb_agg(jsonb_build_array(freed.seat_no, freed.version, 'available')), '[]') INTO v_changes FROM freed;
      v_status := 'expired';
    END IF;
  END IF;
  IF v_status = 'active' THEN
    WITH booked AS (
      UPDATE seats s
      SET hold_token = NULL, hold_expires_at = NULL, booking_id = p_booking, version = nextval('seat_version_seq')
      WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
      RETURNING s.seat_no, s.version)
    SELECT coalesce(jsonb_agg(jsonb_build_array(booked.seat_no, booked.version, 'booked')), '[]') INTO v_changes FROM booked;
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
  RETURN QUERY SELECT v_kind, v_response, v_changes;
END
$$;
