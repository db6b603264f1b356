-- Every hold, booking and release rewrites its seats' hold_token. With an index on that
-- column, PostgreSQL cannot update a seat in place (a HOT update): each change wrote new
-- entries into every index of seats, the primary key included. Nothing looks seats up by
-- their token alone (every query names the event and the seat numbers, and the seat
-- state read joins reservations by their token), so the index goes, and seat changes
-- stay on their page (fillfactor 80 leaves the room) without touching any index.
DROP INDEX IF EXISTS seats_by_hold_token;
