-- record_pending_payment(): a confirmation whose charge is pending at the provider (the
-- buyer's bank asks for 3-D Secure, or the payment is still processing), in one statement.
-- Its live definition is this file (see migrations/README.md).
--
-- Locks as confirm_reservation(): the key (current lease only, else 'lease_lost'), the
-- reservation, its seats.
-- - 'pending': the hold is live, this payer's and attempt's, and every seat still held
--   under its token. The hold (reservation and seats) is kept alive until p_until, the
--   payer's mark too (no other confirmation takes a pending payment over before then), the
--   payment row records the charge and its status, and p_response is stored under the key.
--   out_changes: the seats, held until p_until.
-- - 'hold_lost': the hold ended or another payer took over meanwhile: only the payment row
--   is written (its charge id); the caller voids the payment and stores its refusal.
-- - 'booked': the provider's webhook overtook this answer and booked with this charge:
--   the caller stores the booking under the key.
-- The provider's webhook (settle_payment()) then books, releases or refunds.
-- p_fingerprint: the card the provider reported with the charge, kept on the payment row for
-- the record (null: not reported).

CREATE FUNCTION record_pending_payment(
  p_user text, p_key text, p_lease uuid, p_reservation uuid, p_payer text, p_attempt integer,
  p_charge text, p_status text, p_now timestamptz, p_until timestamptz, p_response jsonb,
  p_fingerprint text DEFAULT NULL)
RETURNS TABLE (out_kind text, out_changes jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r reservations%ROWTYPE;
  v_held integer;
  v_changes jsonb;
BEGIN
  PERFORM 1 FROM idempotency_keys k
  WHERE k.user_id = p_user AND k.key = p_key AND k.state = 'in_flight' AND k.lease = p_lease
  FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'lease_lost', '[]'::jsonb;
    RETURN;
  END IF;
  SELECT * INTO r FROM reservations WHERE id = p_reservation FOR UPDATE;
  UPDATE payments SET charge_id = p_charge, status = p_status, pending_until = p_until, updated_at = p_now,
    card_fingerprint = coalesce(p_fingerprint, card_fingerprint)
  WHERE reservation_id = p_reservation AND attempt = p_attempt AND status IN ('started', 'requires_action', 'processing');
  IF r.status = 'active' AND r.expires_at > p_now AND r.paying_key = p_payer AND r.payment_attempt = p_attempt THEN
    SELECT count(*) INTO v_held FROM (
      SELECT 1 FROM seats s
      WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos)
        AND s.hold_token = r.fencing_token AND s.hold_expires_at > p_now
      FOR UPDATE) AS held;
  END IF;
  IF v_held IS DISTINCT FROM cardinality(r.seat_nos) THEN
    -- The webhook may have overtaken this answer and booked with this very charge.
    RETURN QUERY SELECT CASE WHEN EXISTS (SELECT 1 FROM bookings bk WHERE bk.charge_id = p_charge)
                             THEN 'booked' ELSE 'hold_lost' END, '[]'::jsonb;
    RETURN;
  END IF;
  UPDATE reservations SET expires_at = greatest(expires_at, p_until), paying_since = greatest(p_until, p_now)
  WHERE id = r.id;
  WITH kept AS (
    UPDATE seats s SET hold_expires_at = greatest(s.hold_expires_at, p_until), version = nextval('seat_version_seq')
    WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
    RETURNING s.seat_no, s.version, s.hold_expires_at)
  SELECT coalesce(jsonb_agg(jsonb_build_array(kept.seat_no, kept.version, 'held', kept.hold_expires_at)), '[]')
  INTO v_changes FROM kept;
  UPDATE idempotency_keys k SET state = 'completed', response = p_response
  WHERE k.user_id = p_user AND k.key = p_key;
  RETURN QUERY SELECT 'pending', v_changes;
END
$$;
