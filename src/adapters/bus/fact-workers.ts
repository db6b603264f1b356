// The loops after the sale, in every serving process: the outbox relay (one process at a
// time publishes, the others skip), one reader per consumer, the mail sender, and the
// figures /metrics shows. Errors are reported and the loop backs off; nothing is lost
// meanwhile: facts wait in the outbox, mail in its queue.
import type { Database } from '../postgres/database.ts';
import { outboxBacklog, purgeOldFacts, relayOnce } from '../postgres/outbox.ts';
import type { FactBus, FactConsumer } from './fact-bus.ts';

export interface FactWorkerOptions {
  db: Database;
  bus: FactBus;
  consumers: FactConsumer[];
  relayBatchMax: number;
  /** The relay's pause when it found nothing to publish. */
  idleMs: number;
  /** Sends due mail (one batch); resolves with how many were sent. */
  sendMail: () => Promise<number>;
  mailIntervalMs: number;
  /** Published facts, the records of them and sent mail are kept this long. */
  retentionMs: number;
  onError: (error: unknown, context: string) => void;
}

export interface FactFigures {
  published: number;
  applied: Map<string, number>;
  unpublished: number;
  oldestUnpublishedMs: number;
  lag: Map<string, number>;
}

const errorPauseMs = 1_000;
const purgeIntervalMs = 60_000;
const purgeBatch = 1_000;

export class FactWorkers {
  readonly figures: FactFigures = {
    published: 0,
    applied: new Map(),
    unpublished: 0,
    oldestUnpublishedMs: 0,
    lag: new Map(),
  };
  private stopped = false;
  private registered = false;
  private readonly loops: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly options: FactWorkerOptions) {}

  /**
   * Prepares every consumer's group, before this process publishes anything (the runtime
   * calls it at creation; start and drain call it again until it has worked).
   */
  async register(): Promise<void> {
    if (this.registered) return;
    for (const consumer of this.options.consumers) await this.options.bus.register(consumer);
    this.registered = true;
  }

  /** Starts the loops (each retries until its bus is reachable). */
  async start(): Promise<void> {
    await this.register().catch((error: unknown) => this.options.onError(error, 'bus registration'));
    this.loops.push(this.loop('outbox relay', () => this.relay(), this.options.idleMs));
    for (const consumer of this.options.consumers) {
      this.loops.push(this.loop(`consumer ${consumer.name}`, () => this.consume(consumer, 1_000), 0));
    }
    this.loops.push(this.loop('mail sender', () => this.options.sendMail(), this.options.mailIntervalMs));
    this.loops.push(this.loop('fact figures', () => this.refreshFigures().then(() => 0), 1_000));
    this.loops.push(this.loop('outbox purge', () => this.purge(), purgeIntervalMs));
  }

  /** One pass of everything until nothing moves (tests, and a graceful stop). */
  async drain(): Promise<void> {
    await this.register();
    for (let moved = 1; moved > 0;) {
      moved = 0;
      while ((await this.relay()) > 0) moved += 1;
      for (const consumer of this.options.consumers) {
        while ((await this.consume(consumer, 0)) > 0) moved += 1;
      }
      while ((await this.options.sendMail()) > 0) moved += 1;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.sleepers) wake();
    await Promise.all(this.loops);
  }

  private async relay(): Promise<number> {
    await this.register(); // no fact goes out before every consumer's group exists
    const published = await relayOnce(this.options.db, this.options.bus, this.options.relayBatchMax);
    if (published > 0) this.options.bus.committed?.();
    this.figures.published += published;
    // A full batch: more are waiting, go on at once.
    return published;
  }

  private async consume(consumer: FactConsumer, waitMs: number): Promise<number> {
    await this.register();
    const read = await this.options.bus.consumeOnce(consumer, waitMs);
    this.figures.applied.set(consumer.name, (this.figures.applied.get(consumer.name) ?? 0) + read);
    return read;
  }

  /** One batch of old facts forgotten; a full batch goes on at once. */
  private async purge(): Promise<number> {
    const purged = await purgeOldFacts(this.options.db, Date.now() - this.options.retentionMs, purgeBatch);
    return purged >= purgeBatch ? purged : 0;
  }

  async refreshFigures(): Promise<void> {
    const backlog = await outboxBacklog(this.options.db);
    this.figures.unpublished = backlog.facts;
    this.figures.oldestUnpublishedMs = backlog.oldestAgeMs;
    for (const consumer of this.options.consumers) {
      this.figures.lag.set(consumer.name, await this.options.bus.lag(consumer));
    }
  }

  /** Runs step until stopped; pauses pauseMs after a step that moved nothing, longer after an error. */
  private async loop(context: string, step: () => Promise<number>, pauseMs: number): Promise<void> {
    while (!this.stopped) {
      let moved = 0;
      try {
        moved = await step();
      } catch (error) {
        if (this.stopped) return;
        this.options.onError(error, context);
        await this.sleep(errorPauseMs);
        continue;
      }
      if (moved === 0 && pauseMs > 0) await this.sleep(pauseMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
