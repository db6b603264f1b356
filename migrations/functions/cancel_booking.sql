-- cancel_booking(): takes seats back from a booking and refunds them, in one statement
-- (buyer cancellation, organizer refund, event cancellation). Its live definition is this
-- file (see migrations/README.md).
--
-- p_seat_nos: the seats to take back; null: every seat the booking still holds. Seats
-- already taken back are skipped, so a retry changes nothing ('nothing'); a seat that was
-- never the booking's answers 'not_booked' and changes nothing; a buyer's cancellation of a
-- seat whose ticket was checked in answers 'checked_in' and changes nothing (the check-in
-- reads the booking FOR SHARE, so the two never interleave). Otherwise ('cancelled'):
-- the seats leave booked_seats and go back on sale (out_changes), the booking and its
-- reservation keep only the seats left (the per-user cap counts those), refunded_seats
-- records each seat once (its primary key: a seat is never refunded twice), and the refund
-- (the seats' price less p_fee_percent) is written pending in this transaction with
-- provider key 'refund:<p_refund>', for the caller to send (else the refund job does).
-- Locks: the reservation, the booking, then the seats (the order of every writer).

CREATE FUNCTION cancel_booking(
  p_booking uuid, p_seat_nos integer[], p_reason text, p_fee_percent numeric, p_now timestamptz, p_refund uuid,
  p_note text)
RETURNS TABLE (out_kind text, out_refund uuid, out_amount bigint, out_changes jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  b bookings%ROWTYPE;
  v_wanted integer[];
  v_seats integer[];
  v_left integer[];
  v_value bigint;
  v_amount bigint;
  v_payment uuid;
  v_refund uuid;
  v_changes jsonb;
BEGIN
  SELECT * INTO b FROM bookings WHERE id = p_booking;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::uuid, NULL::bigint, '[]'::jsonb;
    RETURN;
  END IF;
  PERFORM 1 FROM reservations WHERE id = b.reservation_id FOR UPDATE;
  SELECT * INTO b FROM bookings WHERE id = p_booking FOR UPDATE;
  v_wanted := coalesce(p_seat_nos, b.seat_nos);
  IF EXISTS (SELECT unnest(v_wanted) EXCEPT SELECT unnest(b.seat_nos)
             EXCEPT SELECT rs.seat_no FROM refunded_seats rs WHERE rs.booking_id = b.id) THEN
    RETURN QUERY SELECT 'not_booked', NULL::uuid, NULL::bigint, '[]'::jsonb;
    RETURN;
  END IF;
  v_seats := ARRAY(SELECT x FROM (SELECT unnest(v_wanted) INTERSECT SELECT unnest(b.seat_nos)) AS t(x) ORDER BY x);
  IF p_reason = 'buyer_cancelled' AND EXISTS (
      SELECT 1 FROM checkins c WHERE c.booking_id = b.id AND c.seat_no = ANY(v_seats)) THEN
    -- A ticket used at the door is not the buyer's to give back (the organizer may refund it).
    RETURN QUERY SELECT 'checked_in', NULL::uuid, NULL::bigint, '[]'::jsonb;
    RETURN;
  END IF;
  IF cardinality(v_seats) = 0 THEN
    RETURN QUERY SELECT 'nothing', NULL::uuid, 0::bigint, '[]'::jsonb;
    RETURN;
  END IF;
  v_left := ARRAY(SELECT x FROM (SELECT unnest(b.seat_nos) EXCEPT SELECT unnest(v_seats)) AS t(x) ORDER BY x);
  SELECT coalesce(sum(s.price_cents), 0) INTO v_value FROM seats s WHERE s.event_id = b.event_id AND s.seat_no = ANY(v_seats);
  v_amount := v_value - round(v_value * p_fee_percent / 100);
  IF v_amount > 0 THEN
    SELECT p.id INTO v_payment FROM payments p WHERE p.charge_id = b.charge_id;
    INSERT INTO refunds (id, payment_id, booking_id, amount_cents, fee_cents, seat_nos, reason, note, provider_key,
                         status, next_attempt_at, created_at, updated_at)
    VALUES (p_refund, v_payment, b.id, v_amount, v_value - v_amount, v_seats, p_reason, p_note, 'refund:' || p_refund,
            'pending', p_now, p_now, p_now);
    v_refund := p_refund;
  END IF;
  INSERT INTO refunded_seats (booking_id, seat_no, refund_id) SELECT b.id, unnest(v_seats), v_refund;
  DELETE FROM booked_seats bs WHERE bs.event_id = b.event_id AND bs.seat_no = ANY(v_seats) AND bs.booking_id = b.id;
  WITH freed AS (
    UPDATE seats s SET booking_id = NULL, version = nextval('seat_version_seq')
    WHERE s.event_id = b.event_id AND s.seat_no = ANY(v_seats) AND s.booking_id = b.id
    RETURNING s.seat_no, s.version)
  SELECT coalesce(jsonb_agg(jsonb_build_array(freed.seat_no, freed.version, 'available')), '[]') INTO v_changes FROM freed;
  UPDATE bookings SET seat_nos = v_left,
    status = CASE WHEN cardinality(v_left) = 0 THEN 'cancelled' ELSE 'partially_cancelled' END
  WHERE id = b.id;
  UPDATE reservations SET seat_nos = v_left WHERE id = b.reservation_id;
  RETURN QUERY SELECT 'cancelled', v_refund, v_amount, v_changes;
END
$$;
