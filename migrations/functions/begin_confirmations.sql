-- begin_confirmations(): many begin_confirmation() calls in one statement and one
-- transaction (group commit: adapters/postgres/write-batcher.ts). Its live definition is
-- this file: `migrate` re-applies it whenever it changes.
--
-- p_requests: a JSON array of {user, key, request_hash, lease, now, stale_before,
-- reservation, payer, admitted_event, email}, the arguments of begin_confirmation(), in the order
-- to run them (the caller sorts by reservation, then key: the same lock order in every
-- batch). Each answer carries its index (out_index); one request's refusal never fails the
-- others. No request here carries a card fingerprint: a confirmation counted against a limit
-- per card is never batched (its (event, card) lock, taken in the middle of a batch after
-- other reservations' rows, could deadlock two batches); it answers 'card_needed' here.

CREATE FUNCTION begin_confirmations(p_requests jsonb)
RETURNS TABLE (out_index integer, out_kind text, out_reason text, out_response jsonb, out_attempt integer,
               out_refundable_attempt integer, out_event uuid, out_waiting_room boolean,
               out_fencing_token bigint, out_seat_nos integer[], out_total_cents bigint, out_currency text,
               out_created_at timestamptz, out_expires_at timestamptz, out_booking uuid, out_seats jsonb,
               out_card jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  q jsonb;
  i integer;
BEGIN
  FOR i IN 0 .. jsonb_array_length(p_requests) - 1 LOOP
    q := p_requests -> i;
    RETURN QUERY SELECT i, b.* FROM begin_confirmation(
      q ->> 'user', q ->> 'key', q ->> 'request_hash', (q ->> 'lease')::uuid, (q ->> 'now')::timestamptz,
      (q ->> 'stale_before')::timestamptz, (q ->> 'reservation')::uuid, q ->> 'payer',
      (q ->> 'admitted_event')::uuid, q ->> 'email') AS b;
  END LOOP;
END
$$;
