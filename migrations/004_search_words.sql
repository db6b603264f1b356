-- Typo tolerance through a dictionary: every word that occurs in an event's search
-- document, with a trigram index. A query word that is no prefix of any known word is
-- replaced by the closest known word, and the corrected query is searched like any other.
-- Searching a few thousand words by trigrams is fast where searching every event's text
-- was not (a common word's typo touched tens of thousands of events).
CREATE TABLE search_words (word text PRIMARY KEY);
CREATE INDEX search_words_by_prefix ON search_words (word text_pattern_ops);
CREATE INDEX search_words_by_trigram ON search_words USING gin (word public.gin_trgm_ops);

-- As in 003_catalog.sql, and the event's words join the dictionary. Words are never
-- removed: one that no event has any more corrects to nothing found, which is harmless.
CREATE OR REPLACE FUNCTION refresh_event_search(p_event uuid) RETURNS void
LANGUAGE sql AS $$
  UPDATE events e SET
    search_doc = setweight(to_tsvector('simple', catalog_fold(e.name || ' ' || coalesce(p.names, ''))), 'A')
              || setweight(to_tsvector('simple', catalog_fold(e.venue_name || ' ' || e.venue_city)), 'B')
              || setweight(to_tsvector('simple', catalog_fold(e.category || ' ' || e.description)), 'C'),
    search_text = catalog_fold(e.name || ' ' || coalesce(p.names, '') || ' ' || e.venue_name || ' ' || e.venue_city)
  FROM (SELECT string_agg(pf.name, ' ' ORDER BY ep.position) AS names
        FROM event_performers ep JOIN performers pf ON pf.id = ep.performer_id
        WHERE ep.event_id = p_event) AS p
  WHERE e.id = p_event;
  INSERT INTO search_words (word)
  SELECT DISTINCT word FROM events e, unnest(tsvector_to_array(e.search_doc)) AS word
  WHERE e.id = p_event
  ON CONFLICT DO NOTHING;
$$;

INSERT INTO search_words (word)
SELECT DISTINCT word FROM events, unnest(tsvector_to_array(search_doc)) AS word
ON CONFLICT DO NOTHING;
