-- events.search_text (and its trigram index) served typo matching before the word
-- dictionary of 004_search_words.sql; nothing reads it any more, and every event change
-- still wrote it. refresh_event_search() is 004's without it.
DROP INDEX events_search_typos;
ALTER TABLE events DROP COLUMN search_text;

CREATE OR REPLACE FUNCTION refresh_event_search(p_event uuid) RETURNS void
LANGUAGE sql AS $$
  UPDATE events e SET
    search_doc = setweight(to_tsvector('simple', catalog_fold(e.name || ' ' || coalesce(p.names, ''))), 'A')
              || setweight(to_tsvector('simple', catalog_fold(e.venue_name || ' ' || e.venue_city)), 'B')
              || setweight(to_tsvector('simple', catalog_fold(e.category || ' ' || e.description)), 'C')
  FROM (SELECT string_agg(pf.name, ' ' ORDER BY ep.position) AS names
        FROM event_performers ep JOIN performers pf ON pf.id = ep.performer_id
        WHERE ep.event_id = p_event) AS p
  WHERE e.id = p_event;
  INSERT INTO search_words (word)
  SELECT DISTINCT word FROM events e, unnest(tsvector_to_array(e.search_doc)) AS word
  WHERE e.id = p_event
  ON CONFLICT DO NOTHING;
$$;
