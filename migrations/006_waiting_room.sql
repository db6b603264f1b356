-- Per-event waiting-room settings (off unless the organizer turns it on). Stored as one
-- document: they are read with the event and never queried by their parts.
ALTER TABLE events ADD COLUMN waiting_room jsonb NOT NULL DEFAULT '{"enabled": false}';
