-- The catalog: venues and performers that organizers manage, event states (draft,
-- published, cancelled) and full-text event search. Search is derived data kept in the
-- events row: a weighted tsvector (event and performer names over venue over
-- description) for ranked prefix matching, and folded text for trigram typo tolerance.
-- Both extensions exist in PGlite and in PostgreSQL's contrib; they live in schema public
-- and are always named with it, so any search_path works.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- Lower case without accents ("Beyoncé" -> "beyonce"), immutable so indexes may use it.
CREATE FUNCTION catalog_fold(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, p_text)) $$;

CREATE TABLE venues (
  id           uuid PRIMARY KEY,
  organizer_id text             NOT NULL,
  name         text             NOT NULL,
  city         text             NOT NULL,
  address      text,
  latitude     double precision CHECK (latitude BETWEEN -90 AND 90),
  longitude    double precision CHECK (longitude BETWEEN -180 AND 180),
  capacity     integer          CHECK (capacity > 0),
  created_at   timestamptz      NOT NULL,
  updated_at   timestamptz      NOT NULL,
  CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX venues_by_organizer ON venues (organizer_id, created_at, id);
CREATE INDEX venues_by_name ON venues USING gin (catalog_fold(name) public.gin_trgm_ops);

CREATE TABLE performers (
  id           uuid PRIMARY KEY,
  organizer_id text        NOT NULL,
  name         text        NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);
CREATE INDEX performers_by_organizer ON performers (organizer_id, created_at, id);
CREATE INDEX performers_by_name ON performers USING gin (catalog_fold(name) public.gin_trgm_ops);

CREATE TABLE event_performers (
  event_id     uuid    NOT NULL REFERENCES events (id),
  performer_id uuid    NOT NULL REFERENCES performers (id),
  position     integer NOT NULL,
  PRIMARY KEY (event_id, performer_id)
);
CREATE INDEX event_performers_by_performer ON event_performers (performer_id);

ALTER TABLE events
  ADD COLUMN status          text NOT NULL DEFAULT 'published' CHECK (status IN ('draft', 'published', 'cancelled')),
  ADD COLUMN description     text NOT NULL DEFAULT '',
  ADD COLUMN venue_id        uuid REFERENCES venues (id),
  ADD COLUMN price_min_cents bigint,
  ADD COLUMN price_max_cents bigint,
  ADD COLUMN updated_at      timestamptz,
  ADD COLUMN search_doc      tsvector,
  ADD COLUMN search_text     text;

-- Recomputes an event's search columns from its row and its performers; called after
-- every change to an event, its performers, or a performer's or venue's name.
CREATE FUNCTION refresh_event_search(p_event uuid) RETURNS void
LANGUAGE sql AS $$
  UPDATE events e SET
    search_doc = setweight(to_tsvector('simple', catalog_fold(e.name || ' ' || coalesce(p.names, ''))), 'A')
              || setweight(to_tsvector('simple', catalog_fold(e.venue_name || ' ' || e.venue_city)), 'B')
              || setweight(to_tsvector('simple', catalog_fold(e.category || ' ' || e.description)), 'C'),
    search_text = catalog_fold(e.name || ' ' || coalesce(p.names, '') || ' ' || e.venue_name || ' ' || e.venue_city)
  FROM (SELECT string_agg(pf.name, ' ' ORDER BY ep.position) AS names
        FROM event_performers ep JOIN performers pf ON pf.id = ep.performer_id
        WHERE ep.event_id = p_event) AS p
  WHERE e.id = p_event
$$;

UPDATE events SET
  price_min_cents = (SELECT min((tier ->> 'price_cents')::bigint) FROM jsonb_array_elements(price_tiers) AS tier),
  price_max_cents = (SELECT max((tier ->> 'price_cents')::bigint) FROM jsonb_array_elements(price_tiers) AS tier),
  updated_at = created_at;
SELECT refresh_event_search(id) FROM events;
ALTER TABLE events
  ALTER COLUMN price_min_cents SET NOT NULL,
  ALTER COLUMN price_max_cents SET NOT NULL,
  ALTER COLUMN updated_at SET NOT NULL;

CREATE INDEX events_search ON events USING gin (search_doc);
CREATE INDEX events_search_typos ON events USING gin (search_text public.gin_trgm_ops);
CREATE INDEX events_listed ON events (starts_at, id) WHERE status = 'published';
CREATE INDEX events_by_organizer ON events (organizer_id, starts_at, id);
