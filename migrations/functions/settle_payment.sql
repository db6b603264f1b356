-- settle_payment(): applies the provider's word on a payment (a webhook event, or the
-- reconciliation job's reading), once per event, in one statement. Its live definition is
-- this file (see migrations/README.md).
--
-- p_event: the provider's event id, recorded in provider_events in this transaction (a
-- duplicate answers 'duplicate' and changes nothing); null from reconciliation. The
-- payment is found by (p_reservation, p_attempt), from the metadata the charge was made
-- with, so an event that overtakes the synchronous answer still finds it.
-- - p_outcome 'succeeded': book_reservation() books the hold ('booked'), or, when the hold
--   was lost meanwhile (expired past its grace, event cancelled, another attempt paid),
--   writes the charge's refund ('refund', out_refund); already recorded as succeeded:
--   'unchanged'.
-- - 'failed' / 'canceled': the payment is marked failed (or voided); a hold still waiting
--   on it as pending is released ('released', out_changes). A success already recorded is never undone.
-- - 'requires_action' / 'processing': recorded while the payment is still open.
-- 'unknown': no such payment (not ours, or its attempt never began).
-- out_event: the reservation's event (null for a duplicate).
-- Locks: the reservation, then the payment, then (booking) the event and seats.

CREATE FUNCTION settle_payment(
  p_event text, p_event_type text, p_reservation uuid, p_attempt integer, p_charge text, p_outcome text,
  p_now timestamptz, p_booking uuid)
RETURNS TABLE (out_kind text, out_booking uuid, out_refund uuid, out_changes jsonb, out_event uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r reservations%ROWTYPE;
  p payments%ROWTYPE;
  b record;
  v_changes jsonb := '[]';
BEGIN
  IF p_event IS NOT NULL THEN
    INSERT INTO provider_events (id, type, charge_id, received_at) VALUES (p_event, p_event_type, p_charge, p_now)
    ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'duplicate', NULL::uuid, NULL::uuid, '[]'::jsonb, r.event_id;
      RETURN;
    END IF;
  END IF;
  SELECT * INTO r FROM reservations WHERE id = p_reservation FOR UPDATE;
  SELECT * INTO p FROM payments WHERE reservation_id = p_reservation AND attempt = p_attempt FOR UPDATE;
  IF NOT FOUND OR (p.charge_id IS NOT NULL AND p.charge_id <> p_charge) THEN
    RETURN QUERY SELECT 'unknown', NULL::uuid, NULL::uuid, '[]'::jsonb, r.event_id;
    RETURN;
  END IF;

  IF p_outcome = 'succeeded' THEN
    IF p.status = 'succeeded' THEN
      -- Every instant success's webhook ends here: nothing more to read or write.
      RETURN QUERY SELECT 'unchanged', NULL::uuid, NULL::uuid, '[]'::jsonb, r.event_id;
      RETURN;
    END IF;
    SELECT * INTO b FROM book_reservation(r, NULL, p_attempt, p_booking, p_charge, p_now);
    IF b.out_result = 'already_booked' THEN
      RETURN QUERY SELECT 'unchanged', NULL::uuid, NULL::uuid, '[]'::jsonb, r.event_id;
    ELSIF b.out_result = 'booked' THEN
      -- The buyer's key still says "pending": its replay reads the booking (see the app).
      RETURN QUERY SELECT 'booked', p_booking, NULL::uuid, b.out_changes, r.event_id;
    ELSE
      RETURN QUERY SELECT 'refund', NULL::uuid, b.out_refund, b.out_changes, r.event_id;
    END IF;
    RETURN;
  END IF;

  IF p.status IN ('succeeded', 'failed', 'voided') THEN
    RETURN QUERY SELECT 'unchanged', NULL::uuid, NULL::uuid, '[]'::jsonb, r.event_id;
    RETURN;
  END IF;
  IF p_outcome IN ('requires_action', 'processing') THEN
    UPDATE payments SET status = p_outcome, charge_id = p_charge, updated_at = p_now WHERE id = p.id;
    RETURN QUERY SELECT 'unchanged', NULL::uuid, NULL::uuid, '[]'::jsonb, r.event_id;
    RETURN;
  END IF;
  UPDATE payments SET status = CASE WHEN p_outcome = 'canceled' THEN 'voided' ELSE 'failed' END,
    charge_id = p_charge, pending_until = NULL, updated_at = p_now
  WHERE id = p.id;
  IF r.status = 'active' AND r.payment_attempt = p_attempt AND p.status IN ('requires_action', 'processing') THEN
    -- The hold was waiting on this payment (recorded as pending, by the payer or by the
    -- provider's own event): it ends, its seats go back on sale. A payment still 'started'
    -- has a payer waiting on the charge's answer: that payer tells the buyer the card was
    -- declined and keeps the hold for another card (endDeclinedPayment), so the webhook
    -- that overtakes it records the failure and leaves the hold alone.
    UPDATE reservations SET status = 'cancelled', ended_at = p_now, paying_key = NULL, paying_since = NULL,
      payment_attempt = payment_attempt + 1
    WHERE id = r.id;
    WITH freed AS (
      UPDATE seats s SET hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
      WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos) AND s.hold_token = r.fencing_token
      RETURNING s.seat_no, s.version)
    SELECT coalesce(jsonb_agg(jsonb_build_array(freed.seat_no, freed.version, 'available')), '[]') INTO v_changes
    FROM freed;
    RETURN QUERY SELECT 'released', NULL::uuid, NULL::uuid, v_changes, r.event_id;
    RETURN;
  END IF;
  RETURN QUERY SELECT 'unchanged', NULL::uuid, NULL::uuid, '[]'::jsonb, r.event_id;
END
$$;
