-- confirm_reservation(): the booking step of a confirmation, in one statement. Its live
-- definition is this file: `migrate` re-applies it whenever it changes (see
-- migrations/README.md).
--
-- Locks, in the order every writer takes them: the idempotency key (current lease only,
-- else 'lease_lost': another request took the key over and finishes), the reservation,
-- the event (FOR SHARE: a cancellation is seen), then the reservation's seats.
-- - 'confirmed': the hold is live, the event published, every seat still held under the
--   reservation's fencing token, and p_payer/p_attempt are the reservation's current payer
--   and attempt. The seats, the booking (booked_seats' key is invariant 1's backstop),
--   the charge and p_booked_response under the key are written in this one transaction.
-- - 'hold_lost' with the matching p_refusals answer ('expired', 'cancelled', 'confirmed',
--   'event_cancelled', 'superseded') stored under the key: the caller refunds this charge.
--   An event cancelled or a fencing check failed ends the hold and frees its seats; a
--   superseded payer leaves the hold to the payer that took over.
-- out_changes: [seat_no, version, status] of every seat it changed.

CREATE FUNCTION confirm_reservation(
  p_reservation uuid, p_user text, p_key text, p_lease uuid, p_now timestamptz,
  p_booking uuid, p_charge text, p_booked_response jsonb, p_refusals jsonb,
  p_payer text, p_attempt integer)
RETURNS TABLE (out_kind text, out_response jsonb, out_changes jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r reservations%ROWTYPE;
  v_status text;
  v_refusal text;
  v_kind text;
  v_response jsonb;
  v_moved integer;
  v_event_status text;
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
  v_refusal := v_status;
  IF v_status = 'active' AND (r.paying_key IS DISTINCT FROM p_payer OR r.payment_attempt <> p_attempt) THEN
    -- Another confirmation took this payment over: it pays under its own attempt. The hold
    -- stays as it is, for that payer; this charge is refunded by the caller.
    v_refusal := 'superseded';
  ELSIF v_status = 'active' THEN
    SELECT e.status INTO v_event_status FROM events e WHERE e.id = r.event_id FOR SHARE;
    IF v_event_status IS DISTINCT FROM 'published' THEN
      v_status := 'cancelled';
      v_refusal := 'event_cancelled';
    ELSE
      -- The fencing check: every seat still held under this reservation's token, live now.
      SELECT count(*) INTO v_moved FROM (
        SELECT 1 FROM seats s
        WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos)
          AND s.hold_token = r.fencing_token AND s.hold_expires_at > p_now
        FOR UPDATE) AS held;
      IF v_moved <> cardinality(r.seat_nos) THEN
        v_status := 'expired';
        v_refusal := 'expired';
      END IF;
    END IF;
    IF v_status <> 'active' THEN
      -- The hold ends here (the event was cancelled, or the seats are no longer all held
      -- under this token): its seats still under the token are freed.
      UPDATE reservations SET status = v_status, ended_at = p_now, paying_key = NULL, paying_since = NULL
      WHERE id = r.id;
      WITH freed AS (
        UPDATE seats s SET hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
        WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
        RETURNING s.seat_no, s.version)
      SELECT coalesce(jsonb_agg(jsonb_build_array(freed.seat_no, freed.version, 'available')), '[]') INTO v_changes FROM freed;
    END IF;
  END IF;
  IF v_status = 'active' AND v_refusal = 'active' THEN
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
    v_response := p_refusals -> v_refusal;
    IF v_refusal = 'confirmed' THEN
      v_response := jsonb_set(v_response, '{extensions,booking_id}',
                              to_jsonb((SELECT b.id FROM bookings b WHERE b.reservation_id = r.id)));
    END IF;
  END IF;

  IF v_response IS NULL THEN
    RAISE EXCEPTION 'no answer for reservation % in state %', r.id, v_refusal USING ERRCODE = 'BX002';
  END IF;
  -- The charge is recorded with the answer (and, when it booked, with the booking).
  UPDATE idempotency_keys k SET state = 'completed', response = v_response, charge_id = p_charge
  WHERE k.user_id = p_user AND k.key = p_key;
  RETURN QUERY SELECT v_kind, v_response, v_changes;
END
$$;
