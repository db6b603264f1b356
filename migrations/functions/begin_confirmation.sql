-- begin_confirmation(): everything a confirmation does before it charges, in one
-- statement. Its live definition is this file: `migrate` re-applies it whenever it
-- changes (see migrations/README.md).
--
-- In order (the checks of app/confirm-reservation.ts, in the same order as before):
-- - 'not_found': no such reservation, or another user's (nothing is claimed);
-- - 'admission_required': the event has a waiting room and p_admitted_event (the event the
--   caller's admission token admits them to, checked by the caller) is not it;
-- - the key: 'mismatch' (another request's key), 'replay' (out_response, the stored answer),
--   'in_flight' (another request holds a live lease), else claimed under p_lease (a fresh
--   key, or one whose holder went stale: taken over);
-- - 'refuse' (claimed): the hold has ended (out_reason: expired, cancelled, confirmed) or
--   the event is cancelled (event_cancelled): the caller stores the refusal;
-- - 'card_needed': the event limits seats per card (events.max_seats_per_card) and no
--   p_fingerprint was given: nothing is claimed; the caller asks the provider for the
--   card's fingerprint and calls again with it (events without a limit never see this);
-- - 'card_limit' (claimed, then let go as for 'busy'): the card's seats at this event and
--   this hold's would exceed the limit; out_card is {limit, seats} (what the card has);
--   nothing is charged and the hold is kept;
-- - 'busy': another confirmation (another payer) is paying for this hold now; the key is
--   let go at once (locked_at = epoch) so it can be retried when that payment has ended;
-- - 'started' (claimed): the hold is marked as paid by p_payer under out_attempt (taking
--   over a stale payer starts a new attempt), the key remembers that attempt, and the
--   payment ledger has a row for it ('started'). The payer's address (p_email, the token's
--   email claim; null keeps the one known) goes with the hold, for the booking.
-- - 'booked' (claimed): the attempt this key began (before it was taken over) is the one
--   that booked (the provider's webhook finished it): the caller stores that booking.
-- out_refundable_attempt: when the key was taken over from a holder that had begun paying,
-- that attempt, if its charge cannot be the one that paid for a booking (the reservation is
-- not confirmed, or was confirmed by a later attempt). Null otherwise.
-- Locks: the key row, then the reservation row (as confirm_reservation()), then (a limit per
-- card) the advisory lock of (event, fingerprint), last.

CREATE FUNCTION begin_confirmation(
  p_user text, p_key text, p_request_hash text, p_lease uuid, p_now timestamptz, p_stale_before timestamptz,
  p_reservation uuid, p_payer text, p_admitted_event uuid, p_email text, p_fingerprint text DEFAULT NULL)
RETURNS TABLE (out_kind text, out_reason text, out_response jsonb, out_attempt integer,
               out_refundable_attempt integer, out_event uuid, out_waiting_room boolean,
               out_fencing_token bigint, out_seat_nos integer[], out_total_cents bigint, out_currency text,
               out_created_at timestamptz, out_expires_at timestamptz, out_booking uuid, out_seats jsonb,
               out_card jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r reservations%ROWTYPE;
  k idempotency_keys%ROWTYPE;
  v_event_status text;
  v_waiting_room boolean;
  v_earlier integer;
  v_refundable integer;
  v_status text;
  v_attempt integer;
  v_booking uuid;
  v_seats jsonb;
  v_card_limit integer;
  v_card_seats bigint;
BEGIN
  SELECT * INTO r FROM reservations WHERE id = p_reservation;
  IF NOT FOUND OR r.user_id IS DISTINCT FROM p_user THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::jsonb, NULL::integer, NULL::integer, NULL::uuid, NULL::boolean,
      NULL::bigint, NULL::integer[], NULL::bigint, NULL::text, NULL::timestamptz, NULL::timestamptz, NULL::uuid, NULL::jsonb,
      NULL::jsonb;
    RETURN;
  END IF;
  SELECT e.status, coalesce((e.waiting_room ->> 'enabled')::boolean, false), e.max_seats_per_card
  INTO v_event_status, v_waiting_room, v_card_limit
  FROM events e WHERE e.id = r.event_id;
  IF v_waiting_room AND p_admitted_event IS DISTINCT FROM r.event_id THEN
    RETURN QUERY SELECT 'admission_required', NULL::text, NULL::jsonb, NULL::integer, NULL::integer, r.event_id, true,
      NULL::bigint, NULL::integer[], NULL::bigint, NULL::text, NULL::timestamptz, NULL::timestamptz, NULL::uuid, NULL::jsonb,
      NULL::jsonb;
    RETURN;
  END IF;

  -- An event with a limit per card needs the card's fingerprint before its hold is marked as
  -- being paid. Without one: 'card_needed', nothing claimed or written, unless the key answers
  -- by itself (a replay, another request's key, a live claim; read locked, so it still answers
  -- so below), so the caller asks the provider only when the answer depends on the card.
  IF v_card_limit IS NOT NULL AND p_fingerprint IS NULL
     AND r.status = 'active' AND r.expires_at > p_now AND v_event_status IS DISTINCT FROM 'cancelled' THEN
    SELECT * INTO k FROM idempotency_keys WHERE user_id = p_user AND key = p_key FOR UPDATE;
    IF NOT FOUND OR (k.request_hash = p_request_hash AND k.state = 'in_flight' AND k.locked_at <= p_stale_before) THEN
      RETURN QUERY SELECT 'card_needed', NULL::text, NULL::jsonb, NULL::integer, NULL::integer, r.event_id,
        v_waiting_room, NULL::bigint, NULL::integer[], NULL::bigint, NULL::text, NULL::timestamptz, NULL::timestamptz,
        NULL::uuid, NULL::jsonb, NULL::jsonb;
      RETURN;
    END IF;
  END IF;

  -- The key: a fresh claim, a replay, or a takeover of a stale holder's claim.
  INSERT INTO idempotency_keys (user_id, key, request_hash, state, lease, created_at, locked_at)
  VALUES (p_user, p_key, p_request_hash, 'in_flight', p_lease, p_now, p_now)
  ON CONFLICT (user_id, key) DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO k FROM idempotency_keys WHERE user_id = p_user AND key = p_key FOR UPDATE;
    IF k.request_hash <> p_request_hash OR k.state = 'completed' OR k.locked_at > p_stale_before THEN
      RETURN QUERY SELECT CASE WHEN k.request_hash <> p_request_hash THEN 'mismatch'
                               WHEN k.state = 'completed' THEN 'replay' ELSE 'in_flight' END,
        NULL::text, CASE WHEN k.request_hash = p_request_hash THEN k.response END, NULL::integer, NULL::integer,
        NULL::uuid, NULL::boolean, NULL::bigint, NULL::integer[], NULL::bigint, NULL::text, NULL::timestamptz,
        NULL::timestamptz, NULL::uuid, NULL::jsonb, NULL::jsonb;
      RETURN;
    END IF;
    -- The old holder, if it still runs, can no longer complete the key or refund.
    UPDATE idempotency_keys SET lease = p_lease, locked_at = p_now WHERE user_id = p_user AND key = p_key;
    v_earlier := k.payment_attempt;
  END IF;

  IF v_card_limit IS NOT NULL THEN
    -- The limit per card: what this card has at this event (seats of its confirmed
    -- reservations, refunded ones gone, and of its live holds being paid for now, a pending
    -- payment's included) plus this hold's seats. Counted and recorded under a lock on
    -- (event, card) taken last (after the key and this reservation), held to the commit: two
    -- confirmations with one card, from any accounts, are counted one after the other. A hold
    -- that would not start paying is left to the answers below.
    SELECT * INTO r FROM reservations WHERE id = p_reservation FOR UPDATE;
    IF r.status = 'active' AND r.expires_at > p_now AND v_event_status IS DISTINCT FROM 'cancelled'
       AND (r.paying_key IS NULL OR r.paying_key = p_payer OR r.paying_since <= p_stale_before) THEN
      PERFORM pg_advisory_xact_lock(20015, hashtext(r.event_id::text || '/' || p_fingerprint));
      SELECT coalesce(sum(cardinality(o.seat_nos)), 0) INTO v_card_seats
      FROM reservations o
      WHERE o.event_id = r.event_id AND o.card_fingerprint = p_fingerprint AND o.id <> r.id
        AND (o.status = 'confirmed' OR (o.status = 'active' AND o.paying_key IS NOT NULL AND o.expires_at > p_now));
      IF v_card_seats + cardinality(r.seat_nos) > v_card_limit THEN
        -- Nothing charged, the hold kept (another card may pay for it); the key is let go,
        -- as for 'busy', so the same request may be tried again once the card has room.
        UPDATE idempotency_keys SET locked_at = 'epoch' WHERE user_id = p_user AND key = p_key;
        RETURN QUERY SELECT 'card_limit', NULL::text, NULL::jsonb, NULL::integer, NULL::integer, r.event_id,
          v_waiting_room, r.fencing_token, r.seat_nos, r.total_cents, r.currency, r.created_at, r.expires_at,
          NULL::uuid, NULL::jsonb, jsonb_build_object('limit', v_card_limit, 'seats', v_card_seats);
        RETURN;
      END IF;
    END IF;
  END IF;

  -- Marks the hold as being paid: by this payer, or taking over from a stale one (which
  -- starts a new attempt, so the stale payer's charge can never be the one that books).
  -- card_fingerprint: this payer's card (counted above), or null when not looked up.
  UPDATE reservations SET paying_key = p_payer, paying_since = p_now, payment_started = true,
    buyer_email = coalesce(p_email, buyer_email), card_fingerprint = p_fingerprint,
    payment_attempt = CASE WHEN paying_key IS NOT NULL AND paying_key <> p_payer
                           THEN payment_attempt + 1 ELSE payment_attempt END
  WHERE id = r.id AND status = 'active' AND expires_at > p_now
    AND (paying_key IS NULL OR paying_key = p_payer OR paying_since <= p_stale_before)
    AND v_event_status IS DISTINCT FROM 'cancelled'
    AND (v_card_limit IS NULL OR p_fingerprint IS NOT NULL) -- never paying uncounted (see 'card_needed')
  RETURNING payment_attempt INTO v_attempt;

  IF v_attempt IS NOT NULL THEN
    -- Paying (the reservation's other columns never change after the hold).
    UPDATE idempotency_keys SET payment_attempt = v_attempt WHERE user_id = p_user AND key = p_key;
    -- The ledger knows the attempt before the provider is called (a payer that dies after
    -- charging leaves a row for the settler to void or refund).
    INSERT INTO payments (id, reservation_id, attempt, amount_cents, currency, status, created_at, updated_at,
                          card_fingerprint)
    VALUES (gen_random_uuid(), r.id, v_attempt, r.total_cents, r.currency, 'started', p_now, p_now, p_fingerprint)
    ON CONFLICT (reservation_id, attempt) DO NOTHING;
    SELECT jsonb_agg(jsonb_build_array(s.seat_no, s.section, s.row_label, s.number, s.price_cents) ORDER BY s.seat_no)
    INTO v_seats FROM seats s WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos);
    RETURN QUERY SELECT 'started', NULL::text, NULL::jsonb, v_attempt, NULL::integer, r.event_id, v_waiting_room,
      r.fencing_token, r.seat_nos, r.total_cents, r.currency, r.created_at, r.expires_at, NULL::uuid, v_seats, NULL::jsonb;
    RETURN;
  END IF;

  -- Not paying: the hold has ended, the event is off, or another payer is at it.
  SELECT * INTO r FROM reservations WHERE id = p_reservation;
  v_status := CASE WHEN r.status = 'active' AND r.expires_at <= p_now THEN 'expired' ELSE r.status END;
  IF v_earlier IS NOT NULL AND (r.status <> 'confirmed' OR v_earlier < r.payment_attempt) THEN
    v_refundable := v_earlier;
  END IF;
  IF r.status = 'confirmed' THEN
    SELECT b.id INTO v_booking FROM bookings b WHERE b.reservation_id = r.id;
    IF v_earlier IS NOT NULL AND EXISTS (
        SELECT 1 FROM bookings b JOIN payments p ON p.charge_id = b.charge_id
        WHERE b.reservation_id = r.id AND p.reservation_id = r.id AND p.attempt = v_earlier) THEN
      -- The attempt this key began booked (the provider's webhook finished it after its
      -- holder stopped): the answer is that booking.
      RETURN QUERY SELECT 'booked', NULL::text, NULL::jsonb, v_earlier, NULL::integer, r.event_id, v_waiting_room,
        r.fencing_token, r.seat_nos, r.total_cents, r.currency, r.created_at, r.expires_at, v_booking, NULL::jsonb, NULL::jsonb;
      RETURN;
    END IF;
  END IF;
  IF v_status = 'active' AND v_event_status IS DISTINCT FROM 'cancelled' THEN
    UPDATE idempotency_keys SET locked_at = 'epoch' WHERE user_id = p_user AND key = p_key;
    RETURN QUERY SELECT 'busy', NULL::text, NULL::jsonb, NULL::integer, v_refundable, r.event_id, v_waiting_room,
      r.fencing_token, r.seat_nos, r.total_cents, r.currency, r.created_at, r.expires_at, v_booking, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;
  RETURN QUERY SELECT 'refuse', CASE WHEN v_status = 'active' THEN 'event_cancelled' ELSE v_status END, NULL::jsonb,
    NULL::integer, v_refundable, r.event_id, v_waiting_room, r.fencing_token, r.seat_nos, r.total_cents, r.currency,
    r.created_at, r.expires_at, v_booking, NULL::jsonb, NULL::jsonb;
END
$$;
