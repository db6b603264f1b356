-- hold_seats_batch(): many holds in one statement and one transaction, so they share one
-- commit (group commit: the write batcher of adapters/postgres/write-batcher.ts). Its live
-- definition is this file: `migrate` re-applies it whenever it changes.
--
-- p_requests: a JSON array of {event, user, seat_nos, now, expires, max_per_user, currency,
-- reservation}, the arguments of hold_seats(). Each is decided by hold_seats(), in array
-- order, and answered with its index (out_index): a refusal ('conflict', 'user_limit') is an
-- answer like any other and never fails the rest. Every user's advisory lock is taken
-- first, in one order, so two batches never wait on each other in a cycle (seats are taken
-- with SKIP LOCKED: a hold never waits for a seat).

CREATE FUNCTION hold_seats_batch(p_requests jsonb)
RETURNS TABLE (out_index integer, out_kind text, out_token bigint, out_owned integer, out_seat_no integer,
               out_section text, out_row text, out_number integer, out_price_cents bigint, out_version bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_lock bigint;
  q jsonb;
  i integer;
BEGIN
  FOR v_lock IN
    SELECT DISTINCT hashtextextended((x ->> 'event')::uuid::text || ':' || (x ->> 'user'), 0)
    FROM jsonb_array_elements(p_requests) AS x ORDER BY 1
  LOOP
    PERFORM pg_advisory_xact_lock(v_lock);
  END LOOP;
  FOR i IN 0 .. jsonb_array_length(p_requests) - 1 LOOP
    q := p_requests -> i;
    RETURN QUERY SELECT i, h.* FROM hold_seats(
      (q ->> 'event')::uuid, q ->> 'user',
      ARRAY(SELECT n::integer FROM jsonb_array_elements_text(q -> 'seat_nos') WITH ORDINALITY AS s(n, o) ORDER BY o),
      (q ->> 'now')::timestamptz, (q ->> 'expires')::timestamptz, (q ->> 'max_per_user')::integer,
      q ->> 'currency', (q ->> 'reservation')::uuid) AS h;
  END LOOP;
END
$$;
