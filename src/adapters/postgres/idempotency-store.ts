// IdempotencyStore on PostgreSQL / PGlite: one row per (user, key), claimed under a lease;
// only the lease's holder records a charge, completes or abandons the key.
import { randomUUID } from 'node:crypto';
import type {
  IdempotencyClaim,
  IdempotencyKeyRef,
  IdempotencyLease,
  IdempotencyStore,
  StoredResponse,
} from '../../app/ports/idempotency.ts';
import type { Database } from './database.ts';
import { ts } from './sql.ts';

export class PostgresIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Database) {}

  async claimIdempotencyKey(
    ref: IdempotencyKeyRef,
    requestHash: string,
    nowMs: number,
    staleAfterMs: number,
  ): Promise<IdempotencyClaim> {
    const now = ts(nowMs);
    const lease: IdempotencyLease = { ...ref, lease: randomUUID() };
    const inserted = await this.db.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, state, lease, created_at, locked_at)
       VALUES ($1, $2, $3, 'in_flight', $4, $5, $5) ON CONFLICT (user_id, key) DO NOTHING`,
      [ref.userId, ref.key, requestHash, lease.lease, now],
    );
    if (inserted.rowCount === 1) return { kind: 'claimed', lease, chargeId: null };
    const { rows } = await this.db.query<{ request_hash: string; state: string; response: StoredResponse }>(
      'SELECT request_hash, state, response FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [ref.userId, ref.key],
    );
    const existing = rows[0];
    if (!existing) return this.claimIdempotencyKey(ref, requestHash, nowMs, staleAfterMs); // purged meanwhile
    if (existing.request_hash !== requestHash) return { kind: 'mismatch' };
    if (existing.state === 'completed') return { kind: 'replay', response: existing.response };
    // A claim whose holder died (or gave up after an error) is taken over under a new
    // lease; the old holder, if it still runs, can no longer complete or refund.
    const { rows: taken } = await this.db.query<{ charge_id: string | null }>(
      `UPDATE idempotency_keys SET lease = $3, locked_at = $4
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND locked_at <= $5
       RETURNING charge_id`,
      [ref.userId, ref.key, lease.lease, now, ts(nowMs - staleAfterMs)],
    );
    return taken[0] ? { kind: 'claimed', lease, chargeId: taken[0].charge_id } : { kind: 'in_flight' };
  }

  async recordCharge(lease: IdempotencyLease, chargeId: string): Promise<boolean> {
    const updated = await this.db.query(
      `UPDATE idempotency_keys SET charge_id = $4
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND lease = $3`,
      [lease.userId, lease.key, lease.lease, chargeId],
    );
    return updated.rowCount === 1;
  }

  async completeIdempotencyKey(lease: IdempotencyLease, response: StoredResponse): Promise<boolean> {
    const updated = await this.db.query(
      `UPDATE idempotency_keys SET state = 'completed', response = $4
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND lease = $3`,
      [lease.userId, lease.key, lease.lease, JSON.stringify(response)],
    );
    return updated.rowCount === 1;
  }

  async abandonIdempotencyKey(lease: IdempotencyLease): Promise<void> {
    // The row (and its request hash) stays: a retry must still send the same request.
    await this.db.query(
      `UPDATE idempotency_keys SET locked_at = 'epoch'
       WHERE user_id = $1 AND key = $2 AND state = 'in_flight' AND lease = $3`,
      [lease.userId, lease.key, lease.lease],
    );
  }

  async purgeIdempotencyKeys(createdBeforeMs: number, batchSize: number): Promise<number> {
    const deleted = await this.db.query(
      `DELETE FROM idempotency_keys WHERE (user_id, key) IN (
         SELECT user_id, key FROM idempotency_keys
         WHERE state = 'completed' AND created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [ts(createdBeforeMs), batchSize],
    );
    return deleted.rowCount;
  }
}
