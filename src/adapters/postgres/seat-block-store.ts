// Organizer holds on PostgreSQL. A block takes free seats only, all or none, with SKIP
// LOCKED like a hold (a seat another request is changing counts as taken: a block never
// waits on a buyer); it clears any lapsed hold's columns, so the sweeper, which frees seats
// by their hold token, never touches a blocked seat.
import type { SeatState } from '../../app/ports/events.ts';
import type { BlockOutcome, ReleaseOutcome, SeatBlockRecord, SeatBlockStore } from '../../app/ports/seat-blocks.ts';
import type { Database } from './database.ts';
import { seatAvailableSql } from './seat-status.ts';
import { ts } from './sql.ts';

interface BlockRow {
  id: string;
  event_id: string;
  label: string;
  seat_nos: number[];
  created_by: string;
  created_at: Date;
}

class BlockConflict extends Error {
  constructor(readonly seatNos: number[]) {
    super('seats not free');
  }
}

export class PostgresSeatBlockStore implements SeatBlockStore {
  constructor(private readonly db: Database) {}

  async block(block: SeatBlockRecord, nowMs: number): Promise<BlockOutcome> {
    try {
      return await this.db.transaction(async (tx) => {
        const free = await tx.query<{ seat_no: number }>(
          `SELECT seat_no FROM seats
           WHERE event_id = $1 AND seat_no = ANY($2::int[]) AND ${seatAvailableSql('$3')}
           ORDER BY seat_no FOR UPDATE SKIP LOCKED`,
          [block.eventId, block.seatNos, ts(nowMs)],
        );
        if (free.rows.length !== block.seatNos.length) {
          const freeSeats = new Set(free.rows.map((row) => row.seat_no));
          throw new BlockConflict(block.seatNos.filter((seatNo) => !freeSeats.has(seatNo)));
        }
        const { rows } = await tx.query<{ seat_no: number; version: number }>(
          `UPDATE seats SET block_id = $3, hold_token = NULL, hold_expires_at = NULL, version = nextval('seat_version_seq')
           WHERE event_id = $1 AND seat_no = ANY($2::int[])
           RETURNING seat_no, version`,
          [block.eventId, block.seatNos, block.id],
        );
        await tx.query(
          `INSERT INTO seat_blocks (id, event_id, label, seat_nos, created_by, created_at)
           VALUES ($1, $2, $3, $4::int[], $5, $6)`,
          [block.id, block.eventId, block.label, block.seatNos, block.createdBy, ts(block.createdAtMs)],
        );
        return { kind: 'blocked' as const, block, changes: statesOf(rows, 'blocked') };
      });
    } catch (error) {
      if (error instanceof BlockConflict) return { kind: 'conflict', seatNos: error.seatNos };
      throw error;
    }
  }

  async release(eventId: string, blockId: string, nowMs: number): Promise<ReleaseOutcome> {
    return this.db.transaction(async (tx) => {
      const ended = await tx.query(
        'UPDATE seat_blocks SET released_at = $3 WHERE id = $1 AND event_id = $2 AND released_at IS NULL RETURNING id',
        [blockId, eventId, ts(nowMs)],
      );
      if (ended.rows.length === 0) return { kind: 'not_found' as const };
      const { rows } = await tx.query<{ seat_no: number; version: number }>(
        `UPDATE seats SET block_id = NULL, version = nextval('seat_version_seq')
         WHERE event_id = $1 AND block_id = $2
         RETURNING seat_no, version`,
        [eventId, blockId],
      );
      return { kind: 'released' as const, changes: statesOf(rows, 'available') };
    });
  }

  async list(eventId: string): Promise<SeatBlockRecord[]> {
    const { rows } = await this.db.query<BlockRow>(
      `SELECT id, event_id, label, seat_nos, created_by, created_at FROM seat_blocks
       WHERE event_id = $1 AND released_at IS NULL ORDER BY created_at, id`,
      [eventId],
    );
    return rows.map((row) => ({
      id: row.id,
      eventId: row.event_id,
      label: row.label,
      seatNos: row.seat_nos,
      createdBy: row.created_by,
      createdAtMs: row.created_at.getTime(),
    }));
  }
}

function statesOf(rows: { seat_no: number; version: number }[], status: 'blocked' | 'available'): SeatState[] {
  return rows.map((row) => ({
    seatNo: row.seat_no,
    version: Number(row.version),
    status,
    holder: null,
    expiresAtMs: null,
  }));
}
