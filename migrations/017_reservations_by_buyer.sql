-- A buyer's own reservations (GET /v1/me/reservations), newest first: the other indexes
-- start with the event or the expiry, so without this one the list read every reservation.
CREATE INDEX reservations_by_buyer ON reservations (user_id, created_at DESC);
