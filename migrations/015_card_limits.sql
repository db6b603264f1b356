-- Seats per payment card (issue 20): an event may cap the seats one card pays for, whatever
-- the accounts that use it. The count is derived from durable rows, never kept as a tally:
-- a reservation records the fingerprint of the card its current payment attempt is made with
-- (begin_confirmation(), under a lock on (event, fingerprint), only for events with a limit),
-- and the seats a card has are those of its confirmed reservations (refunded seats leave
-- seat_nos) plus those of its live holds being paid for right now (the mark cleared by a
-- decline, a release or the hold's end). See migrations/functions/begin_confirmation.sql.

-- null: no limit (the default).
ALTER TABLE events ADD COLUMN max_seats_per_card integer CHECK (max_seats_per_card IS NULL OR max_seats_per_card > 0);

-- The card the current payment attempt is made with, as the provider fingerprints it (the same
-- card number gives the same fingerprint across customers); null: not looked up (no limit).
ALTER TABLE reservations ADD COLUMN card_fingerprint text;

-- For the record: the card an attempt was made with (looked up before the charge, or
-- reported with it).
ALTER TABLE payments ADD COLUMN card_fingerprint text;

-- The limit's count reads one event's reservations by card. Only events with a limit write
-- the column, so the reservations of every other event stay out of this index (and their
-- updates stay HOT).
CREATE INDEX reservations_by_card ON reservations (event_id, card_fingerprint) WHERE card_fingerprint IS NOT NULL;
