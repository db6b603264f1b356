-- confirm_reservations(): many confirm_reservation() calls (the booking step) in one
-- statement and one transaction (group commit: adapters/postgres/write-batcher.ts). Its
-- live definition is this file: `migrate` re-applies it whenever it changes.
--
-- p_requests: a JSON array of {reservation, user, key, lease, now, booking, charge,
-- booked_response, refusals, payer, attempt, fingerprint}, the arguments of confirm_reservation(), in
-- the order to run them (the caller sorts by reservation, then key: the same lock order in
-- every batch). Each answer carries its index (out_index). A refusal ('hold_lost',
-- 'lease_lost') is an answer and never fails the others; an error (a seat already booked:
-- invariant 1's backstop) fails the statement, and the caller then runs each request alone.

CREATE FUNCTION confirm_reservations(p_requests jsonb)
RETURNS TABLE (out_index integer, out_kind text, out_response jsonb, out_changes jsonb, out_refund uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  q jsonb;
  i integer;
BEGIN
  FOR i IN 0 .. jsonb_array_length(p_requests) - 1 LOOP
    q := p_requests -> i;
    RETURN QUERY SELECT i, c.* FROM confirm_reservation(
      (q ->> 'reservation')::uuid, q ->> 'user', q ->> 'key', (q ->> 'lease')::uuid, (q ->> 'now')::timestamptz,
      (q ->> 'booking')::uuid, q ->> 'charge', q -> 'booked_response', q -> 'refusals', q ->> 'payer',
      (q ->> 'attempt')::integer, q ->> 'fingerprint') AS c;
  END LOOP;
END
$$;
