-- refresh_event_search(): recomputes an event's search document from its row and its
-- performers, and adds its words to the typo dictionary (search_words). Called after every
-- change to an event, its performers, or a performer's or venue's name. Its live definition
-- is this file: `migrate` re-applies it whenever it changes (see migrations/README.md).
-- Words are never removed: one that no event has any more corrects to nothing found.

CREATE FUNCTION refresh_event_search(p_event uuid) RETURNS void
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
