// The mail queue on PostgreSQL / PGlite (migration 012's mails), and the notifications
// consumer that fills it: the mails a batch of facts calls for are inserted in the
// transaction that records the facts as applied (ON CONFLICT: queued once per fact).
import { mailsFor } from '../../app/notifications.ts';
import type { MailJob, MailKind, MailQueue, QueuedMail } from '../../app/ports/mail-queue.ts';
import type { FactConsumer } from '../bus/fact-bus.ts';
import type { Database, SqlExecutor } from './database.ts';
import { ts } from './sql.ts';

export const notificationsConsumer: FactConsumer = {
  name: 'notifications',
  async apply(facts, tx) {
    await insertMails(tx, facts.flatMap(mailsFor));
  },
};

/** Queues mails; one already queued under the same id stays as it is (queued once). */
async function insertMails(executor: SqlExecutor, jobs: MailJob[]): Promise<void> {
  if (jobs.length === 0) return;
  await executor.query(
    `INSERT INTO mails (id, fact_id, kind, to_address, payload, status, next_attempt_at, created_at)
       SELECT j.id, j.fact_id, j.kind, j.to_address, j.payload, 'pending', clock_timestamp(), clock_timestamp()
       FROM jsonb_to_recordset($1::jsonb) AS j(id text, fact_id uuid, kind text, to_address text, payload jsonb)
       ON CONFLICT (id) DO NOTHING`,
    [
      JSON.stringify(
        jobs.map((job) => ({
          id: job.id,
          fact_id: job.factId,
          kind: job.kind,
          to_address: job.to,
          payload: job.payload,
        })),
      ),
    ],
  );
}

interface MailRow {
  id: string;
  fact_id: string;
  kind: MailKind;
  to_address: string;
  payload: Record<string, unknown>;
  attempts: number;
}

export class PostgresMailQueue implements MailQueue {
  constructor(private readonly db: Database) {}

  async enqueue(jobs: MailJob[]): Promise<void> {
    await insertMails(this.db, jobs);
  }

  async claimDue(nowMs: number, leaseMs: number, limit: number): Promise<QueuedMail[]> {
    const { rows } = await this.db.query<MailRow>(
      `WITH due AS (
         SELECT id FROM mails WHERE status <> 'sent' AND next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED
       )
       UPDATE mails m SET next_attempt_at = $2, attempts = m.attempts + 1 FROM due WHERE m.id = due.id
       RETURNING m.id, m.fact_id, m.kind, m.to_address, m.payload, m.attempts`,
      [ts(nowMs), ts(nowMs + leaseMs), limit],
    );
    return rows.map((row) => ({
      id: row.id,
      factId: row.fact_id,
      kind: row.kind,
      to: row.to_address,
      payload: row.payload,
      attempts: row.attempts,
    }));
  }

  async markSent(id: string, nowMs: number): Promise<void> {
    await this.db.query(`UPDATE mails SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1`, [
      id,
      ts(nowMs),
    ]);
  }

  async markFailed(id: string, error: string, nextAttemptAtMs: number): Promise<void> {
    await this.db.query(
      `UPDATE mails SET status = 'failed', last_error = $2, next_attempt_at = $3 WHERE id = $1 AND status <> 'sent'`,
      [id, error.slice(0, 500), ts(nextAttemptAtMs)],
    );
  }

  async failingCount(): Promise<number> {
    const { rows } = await this.db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM mails WHERE status = 'failed'`,
    );
    return rows[0]!.count;
  }
}
