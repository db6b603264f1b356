// The transactional outbox on PostgreSQL / PGlite (migration 012): the relay that publishes
// facts in order, the bookkeeping that makes consumers apply each fact once, and the
// database bus used when there is no Redis.
import type { Fact, FactType } from '../../app/ports/facts.ts';
import type { FactBus, FactConsumer } from '../bus/fact-bus.ts';
import type { Database, SqlExecutor } from './database.ts';

interface OutboxRow {
  fact_id: string;
  seq: number;
  type: FactType;
  event_id: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

const factOf = (row: OutboxRow): Fact => ({
  factId: row.fact_id,
  seq: Number(row.seq),
  type: row.type,
  eventId: row.event_id,
  payload: row.payload,
  writtenAtMs: row.created_at.getTime(),
});

/**
 * Publishes the oldest unpublished facts (up to batchMax), in id order, and stamps them
 * with their published_seq in the same transaction. One relay at a time: outbox_relay's
 * row lock (another process's relay skips). A crash after publish and before the commit
 * publishes them again (at least once; consumers dedupe by fact id). Resolves with the
 * number published.
 */
export async function relayOnce(db: Database, bus: Pick<FactBus, 'publish'>, batchMax: number): Promise<number> {
  return db.transaction(async (tx) => {
    const relay = await tx.query<{ last_seq: number }>(
      'SELECT last_seq FROM outbox_relay WHERE id = 1 FOR UPDATE SKIP LOCKED',
    );
    if (relay.rowCount === 0) return 0; // another process is relaying
    const base = Number(relay.rows[0]!.last_seq);
    const { rows } = await tx.query<OutboxRow & { id: number }>(
      `SELECT id, fact_id, 0 AS seq, type, event_id, payload, created_at FROM outbox
       WHERE published_seq IS NULL ORDER BY id LIMIT $1`,
      [batchMax],
    );
    if (rows.length === 0) return 0;
    const facts = rows.map((row, index) => factOf({ ...row, seq: base + index + 1 }));
    await bus.publish(facts);
    await tx.query(
      `UPDATE outbox o SET published_seq = $2::bigint + u.n, published_at = clock_timestamp()
       FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n) WHERE o.id = u.id`,
      [rows.map((row) => row.id), base],
    );
    await tx.query('UPDATE outbox_relay SET last_seq = $1 WHERE id = 1', [base + rows.length]);
    return rows.length;
  });
}

/** Applies the facts this consumer has not applied yet, and records them, inside tx. */
export async function applyNewFacts(tx: SqlExecutor, consumer: FactConsumer, facts: Fact[]): Promise<void> {
  if (facts.length === 0) return;
  const { rows } = await tx.query<{ fact_id: string }>(
    `INSERT INTO consumed_facts (consumer, fact_id) SELECT $1, unnest($2::uuid[])
     ON CONFLICT DO NOTHING RETURNING fact_id`,
    [consumer.name, facts.map((fact) => fact.factId)],
  );
  const fresh = new Set(rows.map((row) => row.fact_id));
  const news = facts.filter((fact) => fresh.has(fact.factId));
  if (news.length > 0) await consumer.apply(news, tx);
}

/** What the relay still has to publish, and how old the oldest of it is. */
export async function outboxBacklog(db: SqlExecutor): Promise<{ facts: number; oldestAgeMs: number }> {
  const { rows } = await db.query<{ facts: number; oldest: Date | null; now: Date }>(
    `SELECT count(*)::int AS facts, min(created_at) AS oldest, clock_timestamp() AS now
     FROM outbox WHERE published_seq IS NULL`,
  );
  const row = rows[0]!;
  return { facts: row.facts, oldestAgeMs: row.oldest ? Math.max(0, row.now.getTime() - row.oldest.getTime()) : 0 };
}

/**
 * Forgets published facts, consumers' records of them and sent mail older than the
 * retention (one batch of each). A consumer is never behind by that much: its record of a
 * fact outlives any redelivery of it.
 */
export async function purgeOldFacts(db: SqlExecutor, olderThanMs: number, batchSize: number): Promise<number> {
  const before = new Date(olderThanMs);
  const facts = await db.query(
    `DELETE FROM outbox WHERE id IN (
       SELECT id FROM outbox WHERE published_seq IS NOT NULL AND published_at < $1 ORDER BY id LIMIT $2)`,
    [before, batchSize],
  );
  const consumed = await db.query(
    `DELETE FROM consumed_facts WHERE (consumer, fact_id) IN (
       SELECT consumer, fact_id FROM consumed_facts WHERE applied_at < $1 LIMIT $2)`,
    [before, batchSize],
  );
  const mails = await db.query(
    `DELETE FROM mails WHERE id IN (SELECT id FROM mails WHERE status = 'sent' AND sent_at < $1 LIMIT $2)`,
    [before, batchSize],
  );
  return facts.rowCount + consumed.rowCount + mails.rowCount;
}

/**
 * The bus without Redis: the outbox is the log. Publishing is the relay's stamp; each
 * consumer reads after its offset, under its offset row's lock (one reader per consumer
 * across processes), and moves the offset in the transaction of its work: exactly one
 * application per fact, across crashes.
 */
export class DatabaseBus implements FactBus {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly db: Database) {}

  async publish(): Promise<void> {
    // The stamp is the publication: nothing to send.
  }

  /** The stamp has committed: this process's readers may read it now. */
  committed(): void {
    this.wake();
  }

  private wake() {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  async register(consumer: FactConsumer): Promise<void> {
    // A new consumer starts at what is published now: it is not sent the past.
    await this.db.query(
      `INSERT INTO bus_offsets (consumer, last_seq) SELECT $1, last_seq FROM outbox_relay WHERE id = 1
       ON CONFLICT DO NOTHING`,
      [consumer.name],
    );
  }

  async consumeOnce(consumer: FactConsumer, waitMs: number): Promise<number> {
    const read = await this.db.transaction(async (tx) => {
      const offset = await tx.query<{ last_seq: number }>(
        'SELECT last_seq FROM bus_offsets WHERE consumer = $1 FOR UPDATE SKIP LOCKED',
        [consumer.name],
      );
      if (offset.rowCount === 0) return 0; // another process is reading for this consumer
      const { rows } = await tx.query<OutboxRow>(
        `SELECT fact_id, published_seq AS seq, type, event_id, payload, created_at FROM outbox
         WHERE published_seq > $1 ORDER BY published_seq LIMIT 500`,
        [offset.rows[0]!.last_seq],
      );
      if (rows.length === 0) return 0;
      await applyNewFacts(tx, consumer, rows.map(factOf));
      await tx.query('UPDATE bus_offsets SET last_seq = $2 WHERE consumer = $1', [
        consumer.name,
        rows[rows.length - 1]!.seq,
      ]);
      return rows.length;
    });
    if (read === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        timer.unref();
        const waiters = this.waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        this.waiters.add(done);
      });
    }
    return read;
  }

  async lag(consumer: FactConsumer): Promise<number> {
    const { rows } = await this.db.query<{ lag: number }>(
      `SELECT (r.last_seq - coalesce(o.last_seq, r.last_seq))::int AS lag
       FROM outbox_relay r LEFT JOIN bus_offsets o ON o.consumer = $1 WHERE r.id = 1`,
      [consumer.name],
    );
    return rows[0]?.lag ?? 0;
  }

  async close(): Promise<void> {
    this.wake();
  }
}
