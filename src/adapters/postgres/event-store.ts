// EventStore on PostgreSQL / PGlite: events, their seat maps and every seat's state.
// Reads are not cached here: adapters/cache/event-cache.ts keeps the short-lived copies.
import { randomUUID } from 'node:crypto';
import { isUuid } from '../../domain/ids.ts';
import type { SeatStatus } from '../../domain/holds.ts';
import type { ExpandedRow, SectionInput } from '../../domain/seat-map.ts';
import type {
  EventPatch,
  EventRecord,
  EventStatus,
  EventStore,
  EventUpdate,
  NewEvent,
  SeatCounts,
  SeatDetail,
  SeatSnapshot,
  SeatState,
} from '../../app/ports/events.ts';
import type { Database } from './database.ts';
import {
  eventColumns,
  eventInsertColumns,
  type EventRow,
  storedRefundPolicy,
  storedWaitingRoom,
  toEvent,
} from './event-rows.ts';
import { seatHeldSql, seatStatusSql } from './seat-status.ts';
import { type Executor, Params, ts } from './sql.ts';

interface SeatRow {
  seat_no: number;
  section: string;
  row_label: string;
  number: number;
  price_cents: number;
}

function toSeatDetail(row: SeatRow): SeatDetail {
  return {
    seatNo: row.seat_no,
    section: row.section,
    row: row.row_label,
    number: row.number,
    priceCents: row.price_cents,
  };
}

/**
 * Inserts an event's seats in one statement: the rows go over as arrays and the database
 * expands each into its seats (100,000 seats is one round trip, not 100,000).
 */
export async function insertSeats(tx: Executor, eventId: string, rows: ExpandedRow[]): Promise<void> {
  await tx.query(
    `INSERT INTO seats (event_id, seat_no, section, row_label, number, price_tier, price_cents)
     SELECT $1, r.first_seat_no + g.n - 1, r.section, r.row_label, g.n, r.price_tier, r.price_cents
     FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::bigint[])
          AS r(section, row_label, seat_count, first_seat_no, price_tier, price_cents)
     CROSS JOIN LATERAL generate_series(1, r.seat_count) AS g(n)`,
    [
      eventId,
      rows.map((row) => row.sectionName),
      rows.map((row) => row.rowLabel),
      rows.map((row) => row.seatCount),
      rows.map((row) => row.firstSeatNo),
      rows.map((row) => row.priceTierId),
      rows.map((row) => row.priceCents),
    ],
  );
}

/**
 * Refreshes the planner's statistics of the seats table after an event's seats were
 * written. Without them PostgreSQL takes a new event for a handful of rows and answers
 * `event_id = $1 AND seat_no = ANY($2)` (every hold, confirm and release) by reading all
 * of the event's seats instead of the few asked for: 12 ms instead of 0.05 ms per
 * statement at 100,000 seats on PostgreSQL 15, right when its sale opens, long before
 * autovacuum's next look (PGlite has no autovacuum at all). ANALYZE samples a fixed number
 * of rows, so it costs about the same for any table size. Best effort: the seats are written; a failed or skipped
 * refresh (another one is running) leaves the plans to autovacuum.
 */
export async function refreshSeatStatistics(db: Executor): Promise<void> {
  await db.query('ANALYZE (SKIP_LOCKED) seats').catch(() => undefined);
}

/** Replaces the event's performers, in the order given. */
export async function setPerformers(tx: Executor, eventId: string, performerIds: string[]): Promise<void> {
  await tx.query('DELETE FROM event_performers WHERE event_id = $1', [eventId]);
  if (performerIds.length === 0) return;
  await tx.query(
    `INSERT INTO event_performers (event_id, performer_id, position)
     SELECT $1, performer_id, position FROM unnest($2::uuid[]) WITH ORDINALITY AS p(performer_id, position)`,
    [eventId, performerIds],
  );
}

/** A seat map edit found a reservation: the transaction is rolled back. */
class SeatMapLocked extends Error {}

/** The map as created, with only the fields a section and a row have (and none left empty). */
function storedSections(sections: SectionInput[]): SectionInput[] {
  return sections.map((section) => ({
    name: section.name,
    price_tier: section.price_tier,
    rows: section.rows.map((row) => ({
      label: row.label,
      seats: row.seats,
      ...(row.accessible?.length ? { accessible: row.accessible } : {}),
      ...(row.companion?.length ? { companion: row.companion } : {}),
    })),
    ...(section.position ? { position: section.position } : {}),
    ...(section.rank !== undefined ? { rank: section.rank } : {}),
  }));
}

export class PostgresEventStore implements EventStore {
  constructor(private readonly db: Database) {}

  async createEvent(event: NewEvent): Promise<string> {
    const id = randomUUID();
    const { seatCount, currency } = event.seatMap;
    const sections = storedSections(event.sections);
    await this.db.transaction(async (tx) => {
      const prices = event.priceTiers.map((tier) => tier.price_cents);
      await tx.query(
        `INSERT INTO events (${eventInsertColumns})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $14, $20, $21,
                 $22)`,
        [
          id,
          event.organizerId,
          event.name,
          event.category,
          ts(event.startsAtMs),
          event.venue.name,
          event.venue.city,
          ts(event.saleOpensAtMs),
          event.maxSeatsPerUser,
          currency,
          JSON.stringify(event.priceTiers),
          JSON.stringify(sections),
          seatCount,
          ts(event.createdAtMs),
          event.status,
          event.description,
          event.venueId,
          Math.min(...prices),
          Math.max(...prices),
          storedWaitingRoom(event.waitingRoom),
          storedRefundPolicy(event.refundPolicy),
          event.maxSeatsPerCard,
        ],
      );
      await insertSeats(tx, id, event.seatMap.rows);
      await setPerformers(tx, id, event.performerIds);
      await tx.query('SELECT refresh_event_search($1)', [id]);
    });
    await refreshSeatStatistics(this.db);
    return id;
  }

  async findEvent(eventId: string): Promise<EventRecord | null> {
    if (!isUuid(eventId)) return null;
    const { rows } = await this.db.query<EventRow>(`SELECT ${eventColumns} FROM events e WHERE e.id = $1`, [eventId]);
    return rows[0] ? toEvent(rows[0]) : null;
  }

  async updateEvent(eventId: string, patch: EventPatch, nowMs: number): Promise<EventUpdate> {
    return this.db
      .transaction(async (tx): Promise<EventUpdate> => {
        const current = await tx.query<{ sale_opens_at: Date; status: EventStatus }>(
          'SELECT sale_opens_at, status FROM events WHERE id = $1 FOR UPDATE',
          [eventId],
        );
        if (!current.rows[0]) return { kind: 'not_found' };
        const { status } = current.rows[0];
        let changes: SeatState[] = [];
        if (patch.status && !patch.status.from.includes(status)) return { kind: 'status_conflict', status };
        const params = new Params();
        const sets: string[] = [];
        const set = (column: string, value: unknown) => sets.push(`${column} = ${params.add(value)}`);
        if (patch.name !== undefined) set('name', patch.name);
        if (patch.description !== undefined) set('description', patch.description);
        if (patch.category !== undefined) set('category', patch.category);
        if (patch.startsAtMs !== undefined) set('starts_at', ts(patch.startsAtMs));
        if (patch.saleOpensAtMs !== undefined) set('sale_opens_at', ts(patch.saleOpensAtMs));
        if (patch.maxSeatsPerUser !== undefined) set('max_seats_per_user', patch.maxSeatsPerUser);
        if (patch.maxSeatsPerCard !== undefined) set('max_seats_per_card', patch.maxSeatsPerCard);
        if (patch.waitingRoom !== undefined) set('waiting_room', storedWaitingRoom(patch.waitingRoom));
        if (patch.refundPolicy !== undefined) set('refund_policy', storedRefundPolicy(patch.refundPolicy));
        if (patch.status !== undefined) set('status', patch.status.to);
        if (patch.venue !== undefined) {
          set('venue_name', patch.venue.name);
          set('venue_city', patch.venue.city);
          set('venue_id', patch.venueId ?? null);
        }
        if (patch.seatMap) {
          // The map may change only while nobody could have held a seat: before the sale
          // opens (as it stood) and before any reservation. Deleting the seats first locks
          // them, so a hold racing this edit is refused by its SKIP LOCKED.
          if (current.rows[0].sale_opens_at.getTime() <= nowMs) return { kind: 'seat_map_locked' };
          const removed = await tx.query<{ seat_no: number; blocked: boolean }>(
            'DELETE FROM seats WHERE event_id = $1 RETURNING seat_no, block_id IS NOT NULL AS blocked',
            [eventId],
          );
          const held = await tx.query('SELECT 1 FROM reservations WHERE event_id = $1 LIMIT 1', [eventId]);
          if (held.rows.length > 0) throw new SeatMapLocked();
          await insertSeats(tx, eventId, patch.seatMap.expanded.rows);
          // Organizer holds name seats of the map replaced: they end with it, and the seats
          // of the new map at their numbers take new versions, so the live map shows them free.
          await tx.query('UPDATE seat_blocks SET released_at = $2 WHERE event_id = $1 AND released_at IS NULL', [
            eventId,
            ts(nowMs),
          ]);
          const unblocked = removed.rows.filter((row) => row.blocked).map((row) => row.seat_no);
          if (unblocked.length > 0) {
            const renewed = await tx.query<{ seat_no: number; version: number }>(
              `UPDATE seats SET version = nextval('seat_version_seq') WHERE event_id = $1 AND seat_no = ANY($2::int[])
               RETURNING seat_no, version`,
              [eventId, unblocked],
            );
            changes = renewed.rows.map((row) => ({
              seatNo: row.seat_no,
              version: Number(row.version),
              status: 'available' as const,
              holder: null,
              expiresAtMs: null,
            }));
          }
          const prices = patch.seatMap.priceTiers.map((tier) => tier.price_cents);
          set('price_tiers', JSON.stringify(patch.seatMap.priceTiers));
          set('sections', JSON.stringify(storedSections(patch.seatMap.sections)));
          set('seat_count', patch.seatMap.expanded.seatCount);
          set('currency', patch.seatMap.expanded.currency);
          set('price_min_cents', Math.min(...prices));
          set('price_max_cents', Math.max(...prices));
        }
        // Always later than the last write, so a seat map replaced within one millisecond
        // still gets a new updated_at (it keys the seat-list cache and the ETags).
        sets.push(`updated_at = greatest(${params.add(ts(nowMs))}, updated_at + interval '1 millisecond')`);
        await tx.query(`UPDATE events SET ${sets.join(', ')} WHERE id = ${params.add(eventId)}`, params.values);
        if (patch.performerIds !== undefined) await setPerformers(tx, eventId, patch.performerIds);
        await tx.query('SELECT refresh_event_search($1)', [eventId]);
        const { rows } = await tx.query<EventRow>(`SELECT ${eventColumns} FROM events e WHERE e.id = $1`, [eventId]);
        return { kind: 'updated', event: toEvent(rows[0]!), changes };
      })
      .then(async (update) => {
        if (update.kind === 'updated' && patch.seatMap) await refreshSeatStatistics(this.db);
        return update;
      })
      .catch((error: unknown) => {
        if (error instanceof SeatMapLocked) return { kind: 'seat_map_locked' as const };
        throw error;
      });
  }

  async countSeats(eventId: string, nowMs: number): Promise<SeatCounts> {
    const { rows } = await this.db.query<{ total: number; held: number; booked: number; blocked: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE ${seatHeldSql('$2')} AND block_id IS NULL)::int AS held,
              count(*) FILTER (WHERE booking_id IS NOT NULL)::int AS booked,
              count(*) FILTER (WHERE booking_id IS NULL AND block_id IS NOT NULL)::int AS blocked
       FROM seats WHERE event_id = $1`,
      [eventId, ts(nowMs)],
    );
    const row = rows[0] ?? { total: 0, held: 0, booked: 0, blocked: 0 };
    const { held, booked, blocked } = row;
    return { available: row.total - held - booked - blocked, held, booked, blocked };
  }

  async seatSnapshot(eventId: string, nowMs: number): Promise<SeatSnapshot> {
    const { rows } = await this.db.query<SeatRow & { status: SeatStatus; version: number }>(
      `SELECT seat_no, section, row_label, number, price_cents, version, ${seatStatusSql('$2')} AS status
       FROM seats WHERE event_id = $1 ORDER BY seat_no`,
      [eventId, ts(nowMs)],
    );
    let version = 0;
    const seats = rows.map((row) => {
      if (row.version > version) version = row.version;
      return { ...toSeatDetail(row), status: row.status };
    });
    return { version, seats };
  }

  async seatDetails(eventId: string, seatNos: number[]): Promise<SeatDetail[]> {
    const { rows } = await this.db.query<SeatRow>(
      `SELECT seat_no, section, row_label, number, price_cents FROM seats
       WHERE event_id = $1 AND seat_no = ANY($2::int[]) ORDER BY seat_no`,
      [eventId, seatNos],
    );
    return rows.map(toSeatDetail);
  }

  async seatStates(eventId: string, nowMs: number, range?: { from: number; to: number }): Promise<SeatState[]> {
    const { rows } = await this.db.query<{
      seat_no: number;
      version: number;
      status: SeatStatus;
      holder: string | null;
      expires_at: Date | null;
    }>(
      `SELECT s.seat_no, s.version, ${seatStatusSql('$2', 's.')} AS status, r.id AS holder, s.hold_expires_at AS expires_at
       FROM seats s
       LEFT JOIN reservations r ON r.fencing_token = s.hold_token AND s.hold_expires_at > $2
       WHERE s.event_id = $1 AND s.seat_no BETWEEN $3 AND $4
         AND (s.version > 0 OR s.booking_id IS NOT NULL OR s.hold_token IS NOT NULL)`,
      [eventId, ts(nowMs), range?.from ?? 0, range?.to ?? 2_147_483_647],
    );
    return rows.map((row) => ({
      seatNo: row.seat_no,
      version: row.version,
      status: row.status,
      holder: row.status === 'held' ? row.holder : null,
      expiresAtMs: row.status === 'held' && row.expires_at ? row.expires_at.getTime() : null,
    }));
  }

  async hasEvents(): Promise<boolean> {
    const { rows } = await this.db.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM events) AS found');
    return rows[0]?.found === true;
  }
}
