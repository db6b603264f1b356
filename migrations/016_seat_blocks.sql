-- Organizer holds ("kills"): seats taken off sale for press, production or sponsors, with
-- a label, until the organizer releases them. A blocked seat is neither held nor booked:
-- hold_seats() refuses it like a taken seat, and every status reads it as 'blocked'.
CREATE TABLE seat_blocks (
  id          uuid        PRIMARY KEY,
  event_id    uuid        NOT NULL REFERENCES events (id),
  label       text        NOT NULL,
  seat_nos    integer[]   NOT NULL,
  created_by  text        NOT NULL,
  created_at  timestamptz NOT NULL,
  released_at timestamptz
);
CREATE INDEX seat_blocks_by_event ON seat_blocks (event_id, created_at) WHERE released_at IS NULL;

-- The block a seat is in; only a free seat can be blocked (neither held nor booked).
ALTER TABLE seats ADD COLUMN block_id uuid;
