// IdempotencyStore on PostgreSQL / PGlite: one row per (user, key), claimed under a lease
// by begin_confirmation() (booking-store.ts); only the lease's holder completes or abandons
// the key (confirm_reservation() completes it with the booking).
import type { IdempotencyLease, IdempotencyStore, StoredResponse } from '../../app/ports/idempotency.ts';
import type { Database } from './database.ts';
import { ts } from './sql.ts';

export class PostgresIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Database) {}

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
