-- book_reservation(): turns a held, paid-for reservation into a booking, or ends the hold
-- when it cannot: the step shared by a confirmation (confirm_reservation(), the payment
-- answered at once) and a provider's webhook (settle_payment(), a pending payment that
-- succeeded). Its live definition is this file (see migrations/README.md).
--
-- The caller has locked the reservation row. In order:
-- - 'superseded': the hold is live but another payer or attempt is paying for it now
--   (p_payer null: only the attempt is checked). The hold is left to that payer.
-- - 'event_cancelled': the event is no longer on sale (read FOR SHARE); the hold ends.
-- - 'expired': the fencing check failed (a seat is no longer held under this hold's token,
--   live at p_now); the hold ends.
-- - 'expired' / 'cancelled' / 'confirmed': the hold had already ended.
-- - 'already_booked': this charge booked it already (the webhook and the payer's answer race);
--   out_changes names the booked seats as they stand.
-- - 'booked': the seats, the booking (booked_seats' key is invariant 1's backstop) and the
--   reservation are written.
-- Every ending records the charge on the attempt's payment row as succeeded; one that did
-- not book (and whose charge is not the one that paid for the booking) gets its refund
-- row, pending, in the same transaction: out_refund names it for the caller to send.
-- p_fingerprint: the card the provider reported with the charge (null: not reported), kept
-- on the payment row for the record (the limit per card counts the reservation's own
-- card_fingerprint, recorded before the charge).
-- out_changes: [seat_no, version, status] of every seat changed.

CREATE FUNCTION book_reservation(
  r reservations, p_payer text, p_attempt integer, p_booking uuid, p_charge text, p_now timestamptz,
  p_fingerprint text DEFAULT NULL)
RETURNS TABLE (out_result text, out_refund uuid, out_changes jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_status text;
  v_result text;
  v_event_status text;
  v_moved integer;
  v_payment uuid;
  v_refund uuid;
  v_changes jsonb := '[]';
BEGIN
  v_status := CASE WHEN r.status = 'active' AND r.expires_at <= p_now THEN 'expired' ELSE r.status END;
  v_result := v_status;
  IF v_status = 'confirmed' AND EXISTS (SELECT 1 FROM bookings bk WHERE bk.reservation_id = r.id AND bk.charge_id = p_charge) THEN
    -- Booked already by this very charge: the provider's webhook and the payer's answer race
    -- (either may come first), and both mean the same booking. The booked seats as they
    -- stand go back with it: whichever answers first puts them on the live map, not only
    -- the one that wrote them (a seat's version keeps the map from going back).
    SELECT coalesce(jsonb_agg(jsonb_build_array(s.seat_no, s.version, 'booked')), '[]') INTO v_changes
    FROM seats s
    WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.booking_id IS NOT NULL;
    IF p_fingerprint IS NOT NULL THEN
      -- The webhook that booked does not know the card; the payer's answer does.
      UPDATE payments SET card_fingerprint = p_fingerprint
      WHERE reservation_id = r.id AND attempt = p_attempt AND card_fingerprint IS NULL;
    END IF;
    RETURN QUERY SELECT 'already_booked', NULL::uuid, v_changes;
    RETURN;
  ELSIF v_status = 'active'
     AND ((p_payer IS NOT NULL AND r.paying_key IS DISTINCT FROM p_payer) OR r.payment_attempt <> p_attempt) THEN
    v_result := 'superseded';
  ELSIF v_status = 'active' THEN
    SELECT e.status INTO v_event_status FROM events e WHERE e.id = r.event_id FOR SHARE;
    IF v_event_status IS DISTINCT FROM 'published' THEN
      v_status := 'cancelled';
      v_result := 'event_cancelled';
    ELSE
      SELECT count(*) INTO v_moved FROM (
        SELECT 1 FROM seats s
        WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos)
          AND s.hold_token = r.fencing_token AND s.hold_expires_at > p_now
        FOR UPDATE) AS held;
      IF v_moved <> cardinality(r.seat_nos) THEN
        v_status := 'expired';
        v_result := 'expired';
      END IF;
    END IF;
    IF v_status <> 'active' THEN
      UPDATE reservations SET status = v_status, ended_at = p_now, paying_key = NULL, paying_since = NULL
      WHERE id = r.id;
      WITH freed AS (
        UPDATE seats s SET hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
        WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
        RETURNING s.seat_no, s.version)
      SELECT coalesce(jsonb_agg(jsonb_build_array(freed.seat_no, freed.version, 'available')), '[]') INTO v_changes
      FROM freed;
    ELSE
      v_result := 'booked';
      WITH booked AS (
        UPDATE seats s
        SET hold_token = NULL, hold_expires_at = NULL, booking_id = p_booking, version = nextval('seat_version_seq')
        WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
        RETURNING s.seat_no, s.version)
      SELECT coalesce(jsonb_agg(jsonb_build_array(booked.seat_no, booked.version, 'booked')), '[]') INTO v_changes
      FROM booked;
      -- (its trigger writes the booking.confirmed fact to the outbox: migration 012)
      INSERT INTO bookings (id, reservation_id, event_id, user_id, seat_nos, total_cents, currency, charge_id, created_at,
                            email)
      VALUES (p_booking, r.id, r.event_id, r.user_id, r.seat_nos, r.total_cents, r.currency, p_charge, p_now,
              r.buyer_email);
      INSERT INTO booked_seats (event_id, seat_no, booking_id) SELECT r.event_id, unnest(r.seat_nos), p_booking;
      UPDATE reservations
      SET status = 'confirmed', ended_at = p_now, paying_key = NULL, paying_since = NULL
      WHERE id = r.id;
    END IF;
  END IF;

  -- The ledger: the charge succeeded (whatever it bought).
  INSERT INTO payments (id, reservation_id, attempt, charge_id, amount_cents, currency, status, created_at, updated_at,
                        card_fingerprint)
  VALUES (gen_random_uuid(), r.id, p_attempt, p_charge, r.total_cents, r.currency, 'succeeded', p_now, p_now,
          p_fingerprint)
  ON CONFLICT (reservation_id, attempt) DO UPDATE
    SET charge_id = excluded.charge_id, status = 'succeeded', pending_until = NULL, updated_at = excluded.updated_at,
        card_fingerprint = coalesce(excluded.card_fingerprint, payments.card_fingerprint)
  RETURNING id INTO v_payment;
  IF v_result <> 'booked' AND r.total_cents > 0
     AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.charge_id = p_charge) THEN
    INSERT INTO refunds (id, payment_id, amount_cents, reason, provider_key, status, next_attempt_at, created_at, updated_at)
    VALUES (gen_random_uuid(), v_payment, r.total_cents, 'hold_lost', 'refund:' || p_charge, 'pending', p_now, p_now, p_now)
    ON CONFLICT DO NOTHING
    RETURNING id INTO v_refund;
    IF v_refund IS NULL THEN
      SELECT f.id INTO v_refund FROM refunds f WHERE f.payment_id = v_payment AND f.booking_id IS NULL;
    END IF;
  END IF;
  RETURN QUERY SELECT v_result, v_refund, v_changes;
END
$$;
