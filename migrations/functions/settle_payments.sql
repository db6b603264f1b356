-- settle_payments(): many settle_payment() calls (provider events) in one statement and one
-- transaction (group commit: adapters/postgres/write-batcher.ts), so the webhook of every
-- payment of a sale does not cost a commit of its own. Its live definition is this file.
--
-- p_requests: a JSON array of {event, event_type, reservation, attempt, charge, outcome,
-- now, booking}, the arguments of settle_payment(), in the order to run them (the caller
-- sorts by reservation, then attempt: the same lock order in every batch). Each answer
-- carries its index (out_index). An error fails the statement, and the caller then runs
-- each request alone.

CREATE FUNCTION settle_payments(p_requests jsonb)
RETURNS TABLE (out_index integer, out_kind text, out_booking uuid, out_refund uuid, out_changes jsonb, out_event uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  q jsonb;
  i integer;
BEGIN
  FOR i IN 0 .. jsonb_array_length(p_requests) - 1 LOOP
    q := p_requests -> i;
    RETURN QUERY SELECT i, s.* FROM settle_payment(
      q ->> 'event', q ->> 'event_type', (q ->> 'reservation')::uuid, (q ->> 'attempt')::integer, q ->> 'charge',
      q ->> 'outcome', (q ->> 'now')::timestamptz, (q ->> 'booking')::uuid) AS s;
  END LOOP;
END
$$;
