-- hold_seats(): the decision on every hold, in one statement. Its live definition is this
-- file: `migrate` re-applies it whenever it changes (see migrations/README.md).
--
-- Claims the requested seats of one event for a new reservation, or refuses:
-- - 'conflict' (one row per seat that is not free), answered before the per-user cap
--   (the order the hold gate answers in). A seat is free when it is not booked, not in an
--   organizer's block (block_id, migration 016), and its
--   hold has ended (hold_expires_at <= p_now: a hold ends exactly at its expiry, the rule
--   of domain/holds.ts isHoldLive). Seats other requests are touching right now (locked)
--   count as taken: a hold never waits on another buyer (FOR UPDATE SKIP LOCKED).
-- - 'user_limit' when the user's live holds and bookings of the event plus this request
--   exceed p_max_per_user (under the user's advisory lock, the only lock a hold waits for);
-- - 'held': one row per seat with its details and out_version, the seat's new version
--   (mirrors apply seat states newest-version-wins).

CREATE FUNCTION hold_seats(
  p_event uuid, p_user text, p_seat_nos integer[], p_now timestamptz, p_expires timestamptz,
  p_max_per_user integer, p_currency text, p_reservation uuid)
RETURNS TABLE (out_kind text, out_token bigint, out_owned integer, out_seat_no integer,
               out_section text, out_row text, out_number integer, out_price_cents bigint,
               out_version bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_owned integer;
  v_free integer[];
  v_token bigint;
BEGIN
  -- One user's concurrent holds on one event take turns, so the per-user cap holds.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_event::text || ':' || p_user, 0));
  -- Seats first, then the cap: a request for seats that are taken is a conflict whatever
  -- the user holds, as the hold gate (which knows seats, not users) answers it.
  SELECT array_agg(free.seat_no) INTO v_free FROM (
    SELECT s.seat_no FROM seats s
    WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos)
      AND s.booking_id IS NULL AND s.block_id IS NULL AND (s.hold_expires_at IS NULL OR s.hold_expires_at <= p_now)
    ORDER BY s.seat_no
    FOR UPDATE SKIP LOCKED) AS free;
  IF coalesce(cardinality(v_free), 0) <> cardinality(p_seat_nos) THEN
    RETURN QUERY SELECT 'conflict', NULL::bigint, NULL::integer, wanted.seat_no, NULL::text, NULL::text, NULL::integer, NULL::bigint, NULL::bigint
      FROM unnest(p_seat_nos) AS wanted(seat_no)
      WHERE NOT (wanted.seat_no = ANY(coalesce(v_free, '{}')));
    RETURN;
  END IF;

  SELECT coalesce(sum(cardinality(r.seat_nos)), 0)::integer INTO v_owned
  FROM reservations r
  WHERE r.event_id = p_event AND r.user_id = p_user
    AND (r.status = 'confirmed' OR (r.status = 'active' AND r.expires_at > p_now));
  IF v_owned + cardinality(p_seat_nos) > p_max_per_user THEN
    RETURN QUERY SELECT 'user_limit', NULL::bigint, v_owned, NULL::integer, NULL::text, NULL::text, NULL::integer, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;

  -- One statement writes the seats and the reservation and answers: the seats are read once.
  v_token := nextval('hold_fencing_token_seq');
  RETURN QUERY
  WITH held AS (
    UPDATE seats s SET hold_token = v_token, hold_expires_at = p_expires, version = nextval('seat_version_seq')
    WHERE s.event_id = p_event AND s.seat_no = ANY(p_seat_nos)
    RETURNING s.seat_no, s.section, s.row_label, s.number, s.price_cents, s.version),
  reserved AS (
    INSERT INTO reservations (id, event_id, user_id, status, fencing_token, seat_nos, total_cents, currency, created_at, expires_at)
    SELECT p_reservation, p_event, p_user, 'active', v_token, p_seat_nos, sum(held.price_cents), p_currency, p_now, p_expires
    FROM held)
  SELECT 'held', v_token, v_owned, held.seat_no, held.section, held.row_label, held.number, held.price_cents, held.version
  FROM held ORDER BY held.seat_no;
END
$$;
