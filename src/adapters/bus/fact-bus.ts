// The event bus, as the outbox relay and the consumers see it. Two implementations:
// - RedisStreamBus (REDIS_URL): one Redis stream, a consumer group per consumer; pending
//   entries of a dead process are claimed by a live one;
// - DatabaseBus (no Redis): the outbox itself is the log, read in published_seq order from
//   each consumer's offset (bus_offsets), in the same transaction as the consumer's work.
// Either way a consumer's work and its record of the facts it applied (consumed_facts)
// commit together, so a fact delivered again is skipped.
import type { Fact } from '../../app/ports/facts.ts';
import type { SqlExecutor } from '../postgres/database.ts';

export interface FactConsumer {
  /** Names its consumer group and its rows in consumed_facts. */
  name: string;
  /** Applies new facts (never seen by this consumer), in order, inside tx. */
  apply(facts: Fact[], tx: SqlExecutor): Promise<void>;
}

export interface FactBus {
  /** Called by the relay inside its transaction; resolves when the facts are durable on the bus. */
  publish(facts: Fact[]): Promise<void>;
  /** Called once the relay's transaction has committed (the database bus wakes its readers). */
  committed?(): void;
  /** Prepares the consumer's group (before the first publish, so it misses nothing). */
  register(consumer: FactConsumer): Promise<void>;
  /** Reads and applies one batch; resolves with the number of facts read (0: nothing new). */
  consumeOnce(consumer: FactConsumer, waitMs: number): Promise<number>;
  /** Facts published and not yet applied by this consumer. */
  lag(consumer: FactConsumer): Promise<number>;
  close(): Promise<void>;
}
