// The bus on Redis Streams: one stream of facts (<prefix>facts, trimmed to about
// streamLengthMax entries), a consumer group per consumer, one consumer per process.
// - publish: XADD in one pipeline; the relay commits its stamp only after Redis took them.
// - consume: XREADGROUP (blocking, on its own connection); the facts are applied and
//   recorded in one database transaction, then XACKed. A crash between the commit and the
//   XACK redelivers them; consumed_facts skips them.
// - a process that died with entries pending: another process claims them (XAUTOCLAIM)
//   once they have been idle claimIdleMs, so nothing waits on a dead consumer.
import { hostname } from 'node:os';
import type { Fact, FactType } from '../../app/ports/facts.ts';
import type { Database } from '../postgres/database.ts';
import { applyNewFacts } from '../postgres/outbox.ts';
import type { RedisClient } from '../redis/client.ts';
import type { FactBus, FactConsumer } from './fact-bus.ts';

export interface RedisStreamBusOptions {
  keyPrefix: string;
  /** Pending entries idle this long are taken over from their (presumably dead) consumer. */
  claimIdleMs: number;
  streamLengthMax: number;
  batchMax: number;
}

type StreamEntry = [id: string, fields: string[]];

const connectWaitMs = 2_000;

const entryFact = ([, fields]: StreamEntry): Fact => {
  const wire = JSON.parse(fields[1]!) as {
    f: string;
    s: number;
    t: FactType;
    e: string;
    p: Record<string, unknown>;
    w: number;
  };
  return { factId: wire.f, seq: wire.s, type: wire.t, eventId: wire.e, payload: wire.p, writtenAtMs: wire.w };
};

export class RedisStreamBus implements FactBus {
  private readonly stream: string;
  private readonly consumerName = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  /** Consumers that must first re-read their own pending entries (after a failed batch). */
  private readonly retrying = new Set<string>();
  /** When each consumer last looked for a dead consumer's entries (once per second at most). */
  private readonly claimedAtMs = new Map<string, number>();

  constructor(
    private readonly db: Database,
    /** Commands (fail fast). */
    private readonly client: RedisClient,
    /** Blocking reads only. */
    private readonly reader: RedisClient,
    private readonly options: RedisStreamBusOptions,
  ) {
    this.stream = `${options.keyPrefix}facts`;
  }

  /**
   * Waits (a little) for the command connection: its commands fail fast while it is not
   * up, and a process that just started has not connected yet.
   */
  private async connected(): Promise<void> {
    if (this.client.status === 'ready') return;
    const client = this.client;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, connectWaitMs);
      function done() {
        clearTimeout(timer);
        client.removeListener('ready', done);
        resolve();
      }
      client.once('ready', done);
    });
  }

  async publish(facts: Fact[]): Promise<void> {
    await this.connected();
    const pipeline = this.client.pipeline();
    for (const fact of facts) {
      const wire = { f: fact.factId, s: fact.seq, t: fact.type, e: fact.eventId, p: fact.payload, w: fact.writtenAtMs };
      pipeline.xadd(this.stream, 'MAXLEN', '~', this.options.streamLengthMax, '*', 'fact', JSON.stringify(wire));
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed || results.length !== facts.length) throw failed?.[0] ?? new Error('redis: facts not all added');
  }

  async register(consumer: FactConsumer): Promise<void> {
    // '$': a new group starts at the stream's end (it is not sent the past); registered
    // before this process's relay starts, so it misses nothing published after.
    await this.createGroup(consumer, '$');
  }

  private async createGroup(consumer: FactConsumer, from: '$' | '0'): Promise<void> {
    await this.connected();
    try {
      await this.client.xgroup('CREATE', this.stream, consumer.name, from, 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  async consumeOnce(consumer: FactConsumer, waitMs: number): Promise<number> {
    let entries: StreamEntry[];
    try {
      entries = await this.read(consumer, waitMs);
    } catch (error) {
      if (!String((error as Error).message).includes('NOGROUP')) throw error;
      // The stream and its groups are gone (a Redis that restarted without persistence):
      // the group is made again at the stream's start, whose entries are all newer.
      await this.createGroup(consumer, '0');
      return 0;
    }
    if (entries.length === 0) return 0;
    try {
      const facts = entries.map(entryFact).sort((a, b) => a.seq - b.seq);
      await this.db.transaction((tx) => applyNewFacts(tx, consumer, facts));
    } catch (error) {
      this.retrying.add(consumer.name);
      throw error;
    }
    await this.client.xack(this.stream, consumer.name, ...entries.map(([id]) => id));
    return entries.length;
  }

  private async read(consumer: FactConsumer, waitMs: number): Promise<StreamEntry[]> {
    const count = this.options.batchMax;
    if ((this.claimedAtMs.get(consumer.name) ?? 0) < Date.now() - 1_000) {
      // Entries of a dead consumer, idle long enough.
      const [, claimed] = (await this.client.xautoclaim(
        this.stream,
        consumer.name,
        this.consumerName,
        this.options.claimIdleMs,
        '0-0',
        'COUNT',
        count,
      )) as [string, StreamEntry[]];
      const live = claimed.filter((entry) => entry[1] !== null);
      if (live.length > 0) return live;
      this.claimedAtMs.set(consumer.name, Date.now());
    }
    const retry = this.retrying.has(consumer.name);
    const reply = (await this.reader.call(
      'XREADGROUP',
      'GROUP',
      consumer.name,
      this.consumerName,
      'COUNT',
      count,
      ...(retry || waitMs <= 0 ? [] : ['BLOCK', waitMs]),
      'STREAMS',
      this.stream,
      retry ? '0' : '>',
    )) as [string, StreamEntry[]][] | null;
    const entries = (reply?.[0]?.[1] ?? []).filter((entry) => entry[1] !== null);
    if (retry && entries.length === 0) this.retrying.delete(consumer.name);
    return entries;
  }

  async lag(consumer: FactConsumer): Promise<number> {
    const groups = (await this.client.xinfo('GROUPS', this.stream)) as unknown[][];
    for (const group of groups) {
      const fields = new Map<string, unknown>();
      for (let index = 0; index + 1 < group.length; index += 2) fields.set(String(group[index]), group[index + 1]);
      if (fields.get('name') !== consumer.name) continue;
      return Number(fields.get('lag') ?? 0) + Number(fields.get('pending') ?? 0);
    }
    return 0;
  }

  async close(): Promise<void> {
    this.reader.disconnect();
    this.client.disconnect();
  }
}
