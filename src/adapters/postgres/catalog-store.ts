// The catalog in SQL: venues, performers and search (migrations/003_catalog.sql).
import { randomUUID } from 'node:crypto';
import { isUuid } from '../../domain/ids.ts';
import type {
  CatalogStore,
  DateSearch,
  EventFilter,
  Renamed,
  PerformerRecord,
  Suggestion,
  TextSearch,
  VenueFields,
  VenueRecord,
} from '../../app/ports/catalog.ts';
import type { EventRecord } from '../../app/ports/events.ts';
import { eventColumns, type EventRow, toEvent } from './event-rows.ts';
import { seatAvailableSql } from './seat-status.ts';
import { Params, ts } from './sql.ts';
import type { Database } from './database.ts';

interface VenueRow {
  id: string;
  organizer_id: string;
  name: string;
  city: string;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  capacity: number | null;
  created_at: Date;
  updated_at: Date;
}

interface PerformerRow {
  id: string;
  organizer_id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

const venueColumns = 'id, organizer_id, name, city, address, latitude, longitude, capacity, created_at, updated_at';
const performerColumns = 'id, organizer_id, name, created_at, updated_at';

const toVenue = (row: VenueRow): VenueRecord => ({
  id: row.id,
  organizerId: row.organizer_id,
  name: row.name,
  city: row.city,
  address: row.address,
  latitude: row.latitude,
  longitude: row.longitude,
  capacity: row.capacity,
  createdAtMs: row.created_at.getTime(),
  updatedAtMs: row.updated_at.getTime(),
});

const toPerformer = (row: PerformerRow): PerformerRecord => ({
  id: row.id,
  organizerId: row.organizer_id,
  name: row.name,
  createdAtMs: row.created_at.getTime(),
  updatedAtMs: row.updated_at.getTime(),
});

// The query text folded like the documents, and a prefix query of its first 8 words
// ("beyon knowl" -> 'beyon':* & 'knowl':*). Words are runs of letters and digits, so
// nothing a user types reaches to_tsquery's syntax.
const queryCte = (text: string) => `q AS (
  SELECT catalog_fold(${text}) AS text,
         (SELECT to_tsquery('simple', string_agg(quote_literal(word) || ':*', ' & '))
          FROM (SELECT word FROM regexp_split_to_table(catalog_fold(${text}), '[^[:alnum:]]+') AS word
                WHERE word <> '' LIMIT 8) AS words) AS tsq)`;

// The query with typos corrected: each word that is no prefix of a known word (table
// search_words) becomes the most similar known word (trigram similarity above
// pg_trgm.similarity_threshold). Answers the corrected words and the original ones.
const correctionSql = `
  SELECT string_agg(fixed.word, ' ' ORDER BY fixed.position) AS corrected,
         string_agg(fixed.original, ' ' ORDER BY fixed.position) AS original
  FROM (SELECT w.position, w.word AS original,
               CASE WHEN EXISTS (SELECT 1 FROM search_words s WHERE s.word LIKE w.word || '%') THEN w.word
                    ELSE coalesce((SELECT s.word FROM search_words s
                                   WHERE s.word OPERATOR(public.%) w.word
                                   ORDER BY public.similarity(s.word, w.word) DESC, s.word LIMIT 1), w.word)
               END AS word
        FROM (SELECT word, position
              FROM regexp_split_to_table(catalog_fold($1), '[^[:alnum:]]+') WITH ORDINALITY AS t(word, position)
              WHERE word <> '' LIMIT 8) AS w) AS fixed`;

/**
 * Whether an event (its alias) is public: listed, searched and suggested. A draft is its
 * organizer's alone and a cancelled event leaves the listing; a performer or venue is
 * suggested only while it has such an event (else a draft's line-up would be told).
 */
const isPublicEvent = (event: string) => `${event}.status = 'published'`;

/** Whether the event with this id has a seat available at the instant (a parameter). */
const hasSeatAvailable = (eventId: string, at: string) =>
  `EXISTS (SELECT 1 FROM seats s WHERE s.event_id = ${eventId} AND ${seatAvailableSql(at, 's.')})`;

/**
 * The WHERE conditions every event listing shares. With lazyAvailability the seat check
 * is left out (the caller applies it to ranked rows, stopping when the page is full).
 */
function filterConditions(filter: EventFilter, params: Params, lazyAvailability = false): string[] {
  const where = filter.organizerId ? [`e.organizer_id = ${params.add(filter.organizerId)}`] : [isPublicEvent('e')];
  if (filter.city !== undefined) where.push(`lower(e.venue_city) = lower(${params.add(filter.city)})`);
  if (filter.category !== undefined) where.push(`e.category = ${params.add(filter.category)}`);
  if (filter.fromMs !== undefined) where.push(`e.starts_at >= ${params.add(ts(filter.fromMs))}`);
  if (filter.toMs !== undefined) where.push(`e.starts_at < ${params.add(ts(filter.toMs))}`);
  if (filter.priceMinCents !== undefined) where.push(`e.price_max_cents >= ${params.add(filter.priceMinCents)}`);
  if (filter.priceMaxCents !== undefined) where.push(`e.price_min_cents <= ${params.add(filter.priceMaxCents)}`);
  if (filter.availableAtMs !== undefined && !lazyAvailability) {
    where.push(hasSeatAvailable('e.id', params.add(ts(filter.availableAtMs))));
  }
  return where;
}

export class PostgresCatalogStore implements CatalogStore {
  constructor(private readonly db: Database) {}

  async createVenue(organizerId: string, fields: VenueFields, nowMs: number): Promise<VenueRecord> {
    const { rows } = await this.db.query<VenueRow>(
      `INSERT INTO venues (${venueColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING ${venueColumns}`,
      [
        randomUUID(),
        organizerId,
        fields.name,
        fields.city,
        fields.address,
        fields.latitude,
        fields.longitude,
        fields.capacity,
        ts(nowMs),
      ],
    );
    return toVenue(rows[0]!);
  }

  async findVenue(venueId: string): Promise<VenueRecord | null> {
    if (!isUuid(venueId)) return null;
    const { rows } = await this.db.query<VenueRow>(`SELECT ${venueColumns} FROM venues WHERE id = $1`, [venueId]);
    return rows[0] ? toVenue(rows[0]) : null;
  }

  async updateVenue(
    venueId: string,
    fields: Partial<VenueFields>,
    nowMs: number,
  ): Promise<Renamed<'venue', VenueRecord> | null> {
    return this.db.transaction(async (tx) => {
      const params = new Params();
      const sets = Object.entries(fields)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${columnOf(key)} = ${params.add(value)}`);
      const { rows } = await tx.query<VenueRow>(
        `UPDATE venues SET ${[...sets, `updated_at = ${params.add(ts(nowMs))}`].join(', ')}
         WHERE id = ${params.add(venueId)} RETURNING ${venueColumns}`,
        params.values,
      );
      const venue = rows[0];
      if (!venue) return null;
      // Events at the venue show its name and city, and are found by them.
      const moved = await tx.query<{ id: string }>(
        'UPDATE events SET venue_name = $2, venue_city = $3, updated_at = $4 WHERE venue_id = $1 RETURNING id',
        [venueId, venue.name, venue.city, ts(nowMs)],
      );
      await tx.query('SELECT refresh_event_search(id) FROM events WHERE venue_id = $1', [venueId]);
      return { venue: toVenue(venue), eventIds: moved.rows.map((row) => row.id) };
    });
  }

  async listVenues(organizerId: string, limit: number): Promise<VenueRecord[]> {
    const { rows } = await this.db.query<VenueRow>(
      `SELECT ${venueColumns} FROM venues WHERE organizer_id = $1 ORDER BY created_at, id LIMIT $2`,
      [organizerId, limit],
    );
    return rows.map(toVenue);
  }

  async createPerformer(organizerId: string, name: string, nowMs: number): Promise<PerformerRecord> {
    const { rows } = await this.db.query<PerformerRow>(
      `INSERT INTO performers (${performerColumns}) VALUES ($1, $2, $3, $4, $4) RETURNING ${performerColumns}`,
      [randomUUID(), organizerId, name, ts(nowMs)],
    );
    return toPerformer(rows[0]!);
  }

  async findPerformer(performerId: string): Promise<PerformerRecord | null> {
    if (!isUuid(performerId)) return null;
    const { rows } = await this.db.query<PerformerRow>(`SELECT ${performerColumns} FROM performers WHERE id = $1`, [
      performerId,
    ]);
    return rows[0] ? toPerformer(rows[0]) : null;
  }

  async updatePerformer(
    performerId: string,
    name: string,
    nowMs: number,
  ): Promise<Renamed<'performer', PerformerRecord> | null> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<PerformerRow>(
        `UPDATE performers SET name = $2, updated_at = $3 WHERE id = $1 RETURNING ${performerColumns}`,
        [performerId, name, ts(nowMs)],
      );
      if (!rows[0]) return null;
      const touched = await tx.query<{ event_id: string }>(
        'SELECT event_id, refresh_event_search(event_id) FROM event_performers WHERE performer_id = $1',
        [performerId],
      );
      return { performer: toPerformer(rows[0]), eventIds: touched.rows.map((row) => row.event_id) };
    });
  }

  async listPerformers(organizerId: string, limit: number): Promise<PerformerRecord[]> {
    const { rows } = await this.db.query<PerformerRow>(
      `SELECT ${performerColumns} FROM performers WHERE organizer_id = $1 ORDER BY created_at, id LIMIT $2`,
      [organizerId, limit],
    );
    return rows.map(toPerformer);
  }

  async listByDate(search: DateSearch): Promise<EventRecord[]> {
    const params = new Params();
    const where = filterConditions(search, params);
    if (search.after) {
      where.push(
        `(e.starts_at, e.id) > (${params.add(ts(search.after.startsAtMs))}, ${params.add(search.after.id)}::uuid)`,
      );
    }
    const { rows } = await this.db.query<EventRow>(
      `SELECT ${eventColumns} FROM events e WHERE ${where.join(' AND ')}
       ORDER BY e.starts_at, e.id LIMIT ${params.add(search.limit)}`,
      params.values,
    );
    return rows.map(toEvent);
  }

  async searchText(search: TextSearch): Promise<(EventRecord & { score: number; corrected: string | null })[]> {
    // Full-text matches: every word a prefix of a word of the event, ranked by ts_rank,
    // which weighs names (A) over venue (B) over description (C). Only when nothing
    // matches that way are typos forgiven: the query is searched again with each unknown
    // word replaced by the closest known one (search_words, trigrams). A walk keeps the
    // query of its first page: a relevance cursor carries the corrected words, a date
    // walk asks again, so an event inserted mid-walk cannot switch a typo walk.
    if (search.order === 'relevance' && search.after) return this.searchIn(search, search.after.corrected);
    if (search.after && (await this.anyExactMatch(search))) return this.searchIn(search, null);
    if (!search.after) {
      const exactPage = await this.searchIn(search, null);
      if (exactPage.length > 0) return exactPage;
    }
    const corrected = await this.correct(search.text);
    return corrected === null ? [] : this.searchIn(search, corrected);
  }

  /** The query with its typos corrected; null when no word changed (nothing to search again). */
  private async correct(text: string): Promise<string | null> {
    const { rows } = await this.db.query<{ corrected: string | null; original: string | null }>(correctionSql, [text]);
    const row = rows[0];
    return row?.corrected && row.corrected !== row.original ? row.corrected : null;
  }

  private async searchIn(search: TextSearch, corrected: string | null) {
    const params = new Params();
    const text = params.add(corrected ?? search.text);
    const where = filterConditions(search, params, true);
    // Scores of a corrected query stay below every exact score.
    const score = corrected === null ? '1 + ts_rank(e.search_doc, q.tsq)' : 'ts_rank(e.search_doc, q.tsq)';
    let after = '';
    let order = 'm.score DESC, m.id';
    if (search.order === 'date') {
      order = 'm.starts_at, m.id';
      if (search.after) {
        after = `WHERE (m.starts_at, m.id) > (${params.add(ts(search.after.startsAtMs))}, ${params.add(search.after.id)}::uuid)`;
      }
    } else if (search.after) {
      const previous = params.add(search.after.score);
      after = `WHERE (m.score < ${previous} OR (m.score = ${previous} AND m.id > ${params.add(search.after.id)}::uuid))`;
    }
    // Seats are checked on ranked rows only until the page is full (OFFSET 0 keeps the
    // ranking below the check); the page is chosen from ids and sort keys, and only its
    // rows are then read whole.
    const available =
      search.availableAtMs === undefined ? 'true' : hasSeatAvailable('m.id', params.add(ts(search.availableAtMs)));
    const { rows } = await this.db.query<EventRow & { score: number }>(
      `WITH ${queryCte(text)},
       matched AS (
         SELECT e.id, e.starts_at, (${score})::float8 AS score
         FROM events e, q WHERE e.search_doc @@ q.tsq AND ${where.join(' AND ')}),
       page AS (
         SELECT m.* FROM (SELECT * FROM matched m ${after} ORDER BY ${order} OFFSET 0) AS m
         WHERE ${available} LIMIT ${params.add(search.limit)})
       SELECT ${eventColumns}, m.score FROM page m JOIN events e ON e.id = m.id ORDER BY ${order}`,
      params.values,
    );
    return rows.map((row) => ({ ...toEvent(row), score: row.score, corrected }));
  }

  /** Whether any event matches every word as a prefix (with the filters). */
  private async anyExactMatch(search: TextSearch): Promise<boolean> {
    const params = new Params();
    const text = params.add(search.text);
    const where = filterConditions(search, params);
    const { rows } = await this.db.query<{ found: boolean }>(
      `WITH ${queryCte(text)}
       SELECT EXISTS (SELECT 1 FROM events e, q WHERE e.search_doc @@ q.tsq AND ${where.join(' AND ')}) AS found`,
      params.values,
    );
    return rows[0]?.found === true;
  }

  async suggest(text: string, limit: number): Promise<Suggestion[]> {
    const { rows } = await this.db.query<Suggestion & { score: number }>(
      `WITH ${queryCte('$1')}
       SELECT kind, id, name, score FROM (
         (SELECT DISTINCT ON (catalog_fold(top.name)) 'event' AS kind, top.id, top.name, top.score FROM (
            SELECT e.id, e.name, ts_rank(e.search_doc, q.tsq)::float8 AS score
            FROM events e, q WHERE ${isPublicEvent('e')} AND e.search_doc @@ q.tsq
            ORDER BY score DESC, e.id LIMIT $2 * 4) AS top
          ORDER BY catalog_fold(top.name), top.score DESC, top.id)
         UNION ALL
         (SELECT 'performer', p.id, p.name, public.word_similarity(q.text, catalog_fold(p.name))::float8 AS score
          FROM performers p, q WHERE q.text OPERATOR(public.<%) catalog_fold(p.name)
            AND EXISTS (SELECT 1 FROM event_performers ep JOIN events e ON e.id = ep.event_id
                        WHERE ep.performer_id = p.id AND ${isPublicEvent('e')})
          ORDER BY score DESC, p.id LIMIT $2)
         UNION ALL
         (SELECT 'venue', v.id, v.name, public.word_similarity(q.text, catalog_fold(v.name))::float8 AS score
          FROM venues v, q WHERE q.text OPERATOR(public.<%) catalog_fold(v.name)
            AND EXISTS (SELECT 1 FROM events e WHERE e.venue_id = v.id AND ${isPublicEvent('e')})
          ORDER BY score DESC, v.id LIMIT $2)
       ) AS found
       ORDER BY score DESC, name, id LIMIT $2`,
      [text, limit],
    );
    return rows.map(({ kind, id, name }) => ({ kind, id, name }));
  }
}

const venueColumnOf: Record<string, string> = {
  name: 'name',
  city: 'city',
  address: 'address',
  latitude: 'latitude',
  longitude: 'longitude',
  capacity: 'capacity',
};

function columnOf(field: string): string {
  const column = venueColumnOf[field];
  if (!column) throw new Error(`not a venue field: ${field}`);
  return column;
}
