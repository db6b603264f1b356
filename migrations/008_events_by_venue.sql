-- A venue is suggested only while it has a published event (an EXISTS per matching
-- venue), and a venue edit rewrites its events' venue name and city: both look events
-- up by venue_id, which had no index.
CREATE INDEX events_by_venue ON events (venue_id) WHERE venue_id IS NOT NULL;
