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
--   'event_cancelled', 'superseded') stored under the key. An event cancelled or a fencing
--   check failed ends the hold and frees its seats; a superseded payer leaves the hold to
--   the payer that took over. The charge's refund is written (pending) in this same
--   transaction: out_refund, for the caller to send at once (else the refund job does).
-- The booking step itself is book_reservation(), shared with settle_payment(). p_fingerprint:
-- the card the provider reported with the charge, for the payment row (null: not reported).
-- out_changes: [seat_no, version, status] of every seat it changed.

CREATE FUNCTION confirm_reservation(
  p_reservation uuid, p_user text, p_key text, p_lease uuid, p_now timestamptz,
  p_booking uuid, p_charge text, p_booked_response jsonb, p_refusals jsonb,
  p_payer text, p_attempt integer, p_fingerprint text DEFAULT NULL)
RETURNS TABLE (out_kind text, out_response jsonb, out_changes jsonb, out_refund uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r reservations%ROWTYPE;
  b record;
  v_booked record;
  v_kind text;
  v_response jsonb;
BEGIN
  PERFORM 1 FROM idempotency_keys k
  WHERE k.user_id = p_user AND k.key = p_key AND k.state = 'in_flight' AND k.lease = p_lease
  FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'lease_lost', NULL::jsonb, '[]'::jsonb, NULL::uuid;
    RETURN;
  END IF;

  SELECT * INTO r FROM reservations WHERE id = p_reservation FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'reservation % does not exist', p_reservation USING ERRCODE = 'BX002';
  END IF;
  SELECT * INTO b FROM book_reservation(r, p_payer, p_attempt, p_booking, p_charge, p_now, p_fingerprint);
  IF b.out_result = 'booked' THEN
    v_kind := 'confirmed';
    v_response := p_booked_response;
  ELSIF b.out_result = 'already_booked' THEN
    -- The provider's webhook booked with this charge first: the same booking, as it stands.
    SELECT bk.id, bk.created_at INTO v_booked FROM bookings bk WHERE bk.reservation_id = r.id;
    v_kind := 'confirmed';
    v_response := jsonb_set(jsonb_set(p_booked_response, '{body,booking_id}', to_jsonb(v_booked.id)),
                            '{body,created_at}', to_jsonb(to_char(v_booked.created_at AT TIME ZONE 'UTC',
                                                                  'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
  ELSE
    v_kind := 'hold_lost';
    v_response := p_refusals -> b.out_result;
    IF b.out_result = 'confirmed' THEN
      v_response := jsonb_set(v_response, '{extensions,booking_id}',
                              to_jsonb((SELECT bk.id FROM bookings bk WHERE bk.reservation_id = r.id)));
    END IF;
  END IF;

  IF v_response IS NULL THEN
    RAISE EXCEPTION 'no answer for reservation % in state %', r.id, b.out_result USING ERRCODE = 'BX002';
  END IF;
  -- The charge is recorded with the answer (and, when it booked, with the booking).
  UPDATE idempotency_keys k SET state = 'completed', response = v_response, charge_id = p_charge
  WHERE k.user_id = p_user AND k.key = p_key;
  RETURN QUERY SELECT v_kind, v_response, b.out_changes, b.out_refund;
END
$$;
