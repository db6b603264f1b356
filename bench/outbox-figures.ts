// The transactional outbox after a run (issue 18, migration 012), read from the database: the
// facts the triggers wrote for one event, how many the relay published and the notifications
// consumer applied, and their lags from the database's own clock (outbox.created_at is
// clock_timestamp() at the write, published_at the relay's stamp, consumed_facts.applied_at the
// consumer's record). Shared by bench/flash-sale.ts (Redis Streams bus) and bench/checkins.ts
// (the database bus). Costs one cheap query per poll while the backlog drains, then one query.
import { setTimeout as sleep } from 'node:timers/promises';
import { markdownTable, right } from './markdown.ts';
import type { Query } from './verify.ts';

/** The one consumer there is so far (src/adapters/postgres/mail-queue.ts). */
export const notificationsConsumer = 'notifications';
/** After the load, how long the backlog may take to drain before the figures are read. */
export const outboxDrainMs = 10_000;
const pollMs = 100;

export interface LagFigures {
  /** percentile_cont: interpolated between the two nearest facts. */
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface OutboxFigures {
  consumer: string;
  facts_written: number;
  by_type: Record<string, number>;
  facts_published: number;
  facts_consumed: number;
  /** Left at the last poll of the drain: each one is an anomaly (the relay or the consumer did not keep up, or lost it). */
  unpublished: number;
  unconsumed: number;
  /** When the poll first saw nothing left, seconds after the load ended (null: not within the drain). */
  drained_s_after_load: number | null;
  /** What the first poll saw, and when (the checks of the run come between the load's end and it). */
  first_look: { s_after_load: number; unpublished: number; unconsumed: number };
  /** Facts written per second, first to last created_at. */
  written_per_s: number | null;
  /** Facts published per second: published / (last published_at − first created_at). */
  published_per_s: number | null;
  /** published_at − created_at, ms (the write's own transaction, until its commit, is in it). */
  relay_lag_ms: LagFigures;
  /** consumed_facts.applied_at − outbox.created_at, ms: from the write to the consumer's work. */
  consumer_lag_ms: LagFigures;
  /**
   * consumed_facts.applied_at − published_at, ms: the bus and the consumer alone. The relay
   * stamps published_at after the bus took the facts, so with Redis it can be below 0.
   */
  bus_lag_ms: LagFigures;
  /** The event's bookings, and its booking.confirmed facts: equal, or a booking was made without its fact. */
  bookings: number;
  booking_facts: number;
  /** Judged: a booking without its fact, a fact consumed but never published. */
  problems: string[];
  /** Not judged (timing-bound): facts left unpublished or unconsumed after the drain. */
  anomalies: string[];
}

const backlogSql = `SELECT count(*) FILTER (WHERE o.published_seq IS NULL)::int AS unpublished,
         count(*) FILTER (WHERE c.fact_id IS NULL)::int AS unconsumed
  FROM outbox o LEFT JOIN consumed_facts c ON c.consumer = $2 AND c.fact_id = o.fact_id
  WHERE o.event_id = $1`;

const figuresSql = `WITH f AS (
    SELECT o.type, o.created_at, o.published_at, c.applied_at,
           extract(epoch FROM o.published_at - o.created_at)::float8 * 1000 AS relay_ms,
           extract(epoch FROM c.applied_at - o.created_at)::float8 * 1000 AS consumer_ms,
           extract(epoch FROM c.applied_at - o.published_at)::float8 * 1000 AS bus_ms
    FROM outbox o LEFT JOIN consumed_facts c ON c.consumer = $2 AND c.fact_id = o.fact_id
    WHERE o.event_id = $1
  )
  SELECT count(*)::int AS written,
         count(published_at)::int AS published,
         count(applied_at)::int AS consumed,
         count(*) FILTER (WHERE applied_at IS NOT NULL AND published_at IS NULL)::int AS consumed_unpublished,
         count(*) FILTER (WHERE type = 'booking.confirmed')::int AS booking_facts,
         (SELECT count(*)::int FROM bookings WHERE event_id = $1) AS bookings,
         (SELECT coalesce(jsonb_object_agg(type, n), '{}') FROM
            (SELECT type, count(*)::int AS n FROM f GROUP BY type) t) AS by_type,
         extract(epoch FROM max(created_at) - min(created_at))::float8 AS written_span_s,
         extract(epoch FROM max(published_at) - min(created_at))::float8 AS published_span_s,
         percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY relay_ms) AS relay_ms,
         max(relay_ms) AS relay_max_ms,
         percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY consumer_ms) AS consumer_ms,
         max(consumer_ms) AS consumer_max_ms,
         percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY bus_ms) AS bus_ms,
         max(bus_ms) AS bus_max_ms
  FROM f`;

interface FiguresRow {
  written: number;
  published: number;
  consumed: number;
  consumed_unpublished: number;
  booking_facts: number;
  bookings: number;
  by_type: Record<string, number>;
  written_span_s: number | null;
  published_span_s: number | null;
  relay_ms: number[] | null;
  relay_max_ms: number | null;
  consumer_ms: number[] | null;
  consumer_max_ms: number | null;
  bus_ms: number[] | null;
  bus_max_ms: number | null;
}

const r1 = (value: number | null | undefined) =>
  value === null || value === undefined ? null : Math.round(value * 10) / 10;
const rate = (count: number, seconds: number | null) => (seconds && seconds > 0 ? r1(count / seconds) : null);

/**
 * Waits (until loadEndedAtMs + outboxDrainMs at most) for every fact of the event to be
 * published and applied by the notifications consumer, then reads the figures. Facts written
 * after the load (holds expiring: seats.released) count as they come; the drain ends at the
 * first poll that sees nothing left.
 */
export async function outboxFigures(
  query: Query,
  eventId: string,
  loadEndedAtMs: number,
  /** Whose lag: the notifications consumer unless another is named (bench/sale-stats.ts: stats). */
  consumer: string = notificationsConsumer,
): Promise<OutboxFigures> {
  const deadlineMs = loadEndedAtMs + outboxDrainMs;
  let first: OutboxFigures['first_look'] | null = null;
  let drainedAtMs: number | null = null;
  let left = { unpublished: 0, unconsumed: 0 };
  for (;;) {
    const [row] = await query<{ unpublished: number; unconsumed: number }>(backlogSql, [eventId, consumer]);
    left = row!; // an aggregate: always one row
    first ??= { s_after_load: r1((Date.now() - loadEndedAtMs) / 1000)!, ...left };
    if (left.unpublished === 0 && left.unconsumed === 0) {
      drainedAtMs = Date.now();
      break;
    }
    if (Date.now() + pollMs > deadlineMs) break;
    await sleep(pollMs);
  }
  const [row] = await query<FiguresRow>(figuresSql, [eventId, consumer]);
  const figures = row!;
  const problems: string[] = [];
  const anomalies: string[] = [];
  if (figures.booking_facts !== figures.bookings)
    problems.push(`${figures.bookings} bookings but ${figures.booking_facts} booking.confirmed facts in the outbox`);
  if (figures.consumed_unpublished > 0)
    problems.push(`${figures.consumed_unpublished} facts applied by ${consumer} but never published`);
  // What the last poll saw (a hold expiring after it writes a fact the figures below count).
  const { unpublished, unconsumed } = left;
  if (unpublished > 0 || unconsumed > 0)
    anomalies.push(
      `outbox not drained ${outboxDrainMs / 1000} s after the load: ${unpublished} of ${figures.written} facts ` +
        `unpublished, ${unconsumed} not applied by ${consumer}`,
    );
  return {
    consumer,
    facts_written: figures.written,
    by_type: figures.by_type,
    facts_published: figures.published,
    facts_consumed: figures.consumed,
    unpublished,
    unconsumed,
    drained_s_after_load: drainedAtMs === null ? null : r1((drainedAtMs - loadEndedAtMs) / 1000),
    first_look: first,
    written_per_s: rate(figures.written, figures.written_span_s),
    published_per_s: rate(figures.published, figures.published_span_s),
    relay_lag_ms: {
      p50: r1(figures.relay_ms?.[0]),
      p99: r1(figures.relay_ms?.[1]),
      max: r1(figures.relay_max_ms),
    },
    consumer_lag_ms: {
      p50: r1(figures.consumer_ms?.[0]),
      p99: r1(figures.consumer_ms?.[1]),
      max: r1(figures.consumer_max_ms),
    },
    bus_lag_ms: {
      p50: r1(figures.bus_ms?.[0]),
      p99: r1(figures.bus_ms?.[1]),
      max: r1(figures.bus_max_ms),
    },
    bookings: figures.bookings,
    booking_facts: figures.booking_facts,
    problems,
    anomalies,
  };
}

const n = (value: number | null) => (value === null ? '–' : value.toLocaleString('en-US'));
const lag = (figures: LagFigures) => `${n(figures.p50)} / ${n(figures.p99)} / ${n(figures.max)}`;

/** One column per run (label → its figures): the outbox table of a report. */
export function outboxTable(runs: [label: string, figures: OutboxFigures][]): string[] {
  const row = (label: string, cell: (figures: OutboxFigures) => string) => [
    label,
    ...runs.map(([, figures]) => cell(figures)),
  ];
  return markdownTable(
    ['Outbox', ...runs.map(([label]) => right(label))],
    [
      row(
        'Facts written (by type)',
        (f) =>
          `${n(f.facts_written)} (${Object.entries(f.by_type)
            .map(([type, count]) => `${type} ${n(count)}`)
            .join(', ')})`,
      ),
      row('Facts written / s', (f) => n(f.written_per_s)),
      row('Facts published / applied', (f) => `${n(f.facts_published)} / ${n(f.facts_consumed)}`),
      row('Facts published / s', (f) => n(f.published_per_s)),
      row('Relay lag p50 / p99 / max ms (published − written)', (f) => lag(f.relay_lag_ms)),
      row(`Commit to ${notificationsConsumer} p50 / p99 / max ms (applied − written)`, (f) => lag(f.consumer_lag_ms)),
      row(`Published to applied p50 / p99 / max ms (the bus and ${notificationsConsumer})`, (f) => lag(f.bus_lag_ms)),
      row(
        'Backlog at the first look: unpublished / unapplied (s after the load)',
        (f) => `${n(f.first_look.unpublished)} / ${n(f.first_look.unconsumed)} (${f.first_look.s_after_load})`,
      ),
      row(
        `Left after the drain (≤ ${outboxDrainMs / 1000} s): unpublished / unapplied`,
        (f) => `${n(f.unpublished)} / ${n(f.unconsumed)}${f.unpublished + f.unconsumed > 0 ? ' ⚠' : ''}`,
      ),
      row(
        'Bookings / booking.confirmed facts (must be equal)',
        (f) => `${n(f.bookings)} / ${n(f.booking_facts)}${f.bookings === f.booking_facts ? '' : ' ✗'}`,
      ),
    ],
  );
}
