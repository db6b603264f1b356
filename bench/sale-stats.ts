// The sale-stats scenario: an organizer watches a sale of a large event.
// `npx tsx bench/sale-stats.ts [--quick] [--seats N] [--bookings N] [--stats-requests N] [--out file.json]`;
// run by `npm run bench` after checkins.
//
// One service process (PAYMENT_PROVIDER=test; PostgreSQL and the outbox's database bus, no
// Redis) on a throwaway database (bench_stats_<timestamp>, dropped at the end). One event of
// `--seats` seats (100,000; 20,000 with --quick). 50 buyers at a time make `--bookings`
// bookings of 1–4 adjacent seats (hold, then confirm with pm_card_visa); one booking in ten
// then has a seat refunded by the organizer. Meanwhile the organizer polls GET …/stats every
// 100 ms. Measured:
// - how long after a booking's 201 the organizer's figures count it (the stats consumer's
//   lag as the organizer sees it, at the polls' resolution), and commit-to-applied from the
//   database's own clock (consumed_facts.applied_at − outbox.created_at);
// - GET …/stats latency during the sale (under load) and after it (`--stats-requests`
//   sequential requests on a quiet service);
// - attendees.csv of the whole sale: time to the last byte, its size.
// Checked: once drained, the figures equal SQL over bookings, seats and refunds, and the CSV
// has a line per seat booked or refunded. No 5xx.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseChildArgs, runAsScript, stopRequested, writeResult, type ChildOptions } from './child-scenario.ts';
import { eventBody, mintTokenSync, seatId, type SeatMapShape } from './fixtures.ts';
import { round } from './load.ts';
import { markdownTable, right } from './markdown.ts';
import { type OutboxFigures, outboxFigures } from './outbox-figures.ts';
import { startServiceRig } from './service-rig.ts';
import { summarize, type Summary } from './stats.ts';
import { withPostgres } from './verify.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const authSecret = 'stats-bench-secret-0123456789abcdef-012345';
const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (message: string) => process.stderr.write(`[sale-stats] ${message}\n`);
const organizerId = 'stats-bench-organizer';
const bookingConcurrency = 50;
const pollMs = 100;
const drainWaitMs = 15_000;
const requestTimeoutMs = 60_000;

interface Options extends ChildOptions {
  seats: number;
  bookings: number;
  statsRequests: number;
}

export interface SaleStatsRun {
  scenario: 'sale-stats';
  checks: { ok: boolean; problems: string[] };
  anomalies: string[];
  mode: 'quick' | 'full';
  at: string;
  settings: { seats: number; bookings: number; stats_requests: number; poll_ms: number };
  sale: { bookings: number; seats_booked: number; seats_refunded: number; elapsed_s: number; confirm_ms: Summary };
  /** Booking 201 → the organizer's next poll that counts it (ms; poll resolution pollMs). */
  seen_by_organizer_ms: Summary;
  stats_ms: { during_sale: Summary; quiet: Summary };
  csv: { ms: number; bytes: number; lines: number };
  outbox: OutboxFigures | null;
  table: string;
}

type Answer = { status: number; body: any; ms: number; bytes: number };

async function main() {
  const options = parseChildArgs<Options>(
    process.argv.slice(2),
    { quick: process.argv.includes('--quick'), out: null, seats: 0, bookings: 0, statsRequests: 0 },
    {
      '--seats': ['seats', 1_000, 100_000],
      '--bookings': ['bookings', 10, 20_000],
      '--stats-requests': ['statsRequests', 10, 10_000],
    },
    'npx tsx bench/sale-stats.ts [--quick] [--seats N] [--bookings N] [--stats-requests N] [--out file.json]',
  );
  options.seats ||= options.quick ? 20_000 : 100_000;
  options.bookings ||= options.quick ? 300 : 2_000;
  options.statsRequests ||= options.quick ? 100 : 300;
  if (options.bookings * 4 > options.seats) throw new Error('usage: at most a booking per 4 seats');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '').toLowerCase();
  const database = `bench_stats_${stamp}`;
  const rig = await startServiceRig({
    root,
    adminUrl,
    database,
    authSecret,
    connections: bookingConcurrency + 8,
    requestTimeoutMs,
    log,
  });
  const { databaseUrl } = rig;
  try {
    const problems: string[] = [];
    const anomalies: string[] = [];
    const statuses = new Map<string, number>();
    const call = async (
      label: string,
      method: 'GET' | 'POST',
      url: string,
      token: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Answer | null> => {
      try {
        const answer = await rig.send(method, url, token, body, headers);
        const key = `${label} ${answer.status}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (answer.status >= 500) problems.push(`${label} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        return answer;
      } catch (error) {
        anomalies.push(`${label}: ${(error as { code?: string }).code ?? (error as Error).message}`);
        return null;
      }
    };

    const shape: SeatMapShape = { sections: Math.ceil(options.seats / 1_000), rowsPerSection: 20, seatsPerRow: 50 };
    const organizer = mintTokenSync(authSecret, organizerId, 'organizer');
    const created = await call('event', 'POST', '/v1/events', organizer, {
      ...eventBody(shape, { name: `Bench sale stats ${stamp}`, maxSeatsPerUser: 1_000 }),
    });
    if (created?.status !== 201) throw new Error(`POST /v1/events answered ${created?.status}`);
    const eventId: string = created.body.event_id;
    const statsPath = `/v1/events/${eventId}/stats`;
    log(`event ${eventId}: ${shape.sections * 1_000} seats, ${options.bookings} bookings while the organizer polls`);

    // The organizer's polls during the sale: when each answered, and how many bookings it counted.
    const polls: { atMs: number; bookings: number; ms: number }[] = [];
    let selling = true;
    const poller = (async () => {
      while (selling && !stopRequested()) {
        const answer = await call('stats (sale)', 'GET', statsPath, organizer);
        if (answer?.status === 200)
          polls.push({ atMs: Date.now(), bookings: answer.body.sales.bookings, ms: answer.ms });
        await sleep(pollMs);
      }
    })();

    const confirmSamples: number[] = [];
    const bookedAtMs: number[] = [];
    let seatsBooked = 0;
    let seatsRefunded = 0;
    let next = 0;
    const saleStartedMs = performance.now();
    await Promise.all(
      Array.from({ length: bookingConcurrency }, async () => {
        while (next < options.bookings && !stopRequested()) {
          const index = next++;
          // A buyer per 100 bookings (at most 400 seats: under the event's max_seats_per_user).
          const token = mintTokenSync(authSecret, `stats-bench-buyer-${Math.floor(index / 100)}`, 'customer');
          const count = 1 + (index % 4);
          const seatNos = Array.from({ length: count }, (_, i) => index * 4 + i);
          const held = await call('hold', 'POST', `/v1/events/${eventId}/reservations`, token, {
            seat_ids: seatNos.map(seatId),
          });
          if (held?.status !== 201) {
            problems.push(`hold ${index} answered ${held?.status}`);
            continue;
          }
          const confirmed = await call(
            'confirm',
            'POST',
            `/v1/reservations/${held.body.reservation_id}/confirm`,
            token,
            { payment_method: 'pm_card_visa' },
            { 'idempotency-key': `stats-bench-${index}` },
          );
          if (confirmed?.status !== 201) {
            problems.push(`confirm ${index} answered ${confirmed?.status}`);
            continue;
          }
          bookedAtMs.push(Date.now());
          confirmSamples.push(confirmed.ms);
          seatsBooked += count;
          if (index % 10 === 9) {
            const refunded = await call(
              'refund',
              'POST',
              `/v1/bookings/${confirmed.body.booking_id}/refund`,
              organizer,
              {
                reason: 'bench',
                seat_ids: [seatId(seatNos[0]!)],
              },
            );
            if (refunded?.status === 200) seatsRefunded += 1;
            else problems.push(`refund ${index} answered ${refunded?.status}`);
          }
        }
      }),
    );
    const saleElapsedS = (performance.now() - saleStartedMs) / 1000;
    const saleEndedAtMs = Date.now();
    // The polls go on until the figures count every booking (bounded).
    while (
      (polls.at(-1)?.bookings ?? 0) < bookedAtMs.length &&
      Date.now() < saleEndedAtMs + drainWaitMs &&
      !stopRequested()
    ) {
      await sleep(pollMs);
    }
    selling = false;
    await poller;
    if ((polls.at(-1)?.bookings ?? 0) !== bookedAtMs.length)
      problems.push(
        `the figures count ${polls.at(-1)?.bookings} bookings of ${bookedAtMs.length}, ${drainWaitMs} ms after`,
      );
    log(
      `${bookedAtMs.length} bookings (${seatsBooked} seats, ${seatsRefunded} refunded) in ${saleElapsedS.toFixed(1)} s`,
    );

    // Booking k (in the order they were answered) is seen at the first poll counting k.
    bookedAtMs.sort((a, b) => a - b);
    const seen: number[] = [];
    let poll = 0;
    for (let k = 1; k <= bookedAtMs.length; k += 1) {
      while (poll < polls.length && (polls[poll]!.bookings < k || polls[poll]!.atMs < bookedAtMs[k - 1]!)) poll += 1;
      if (poll < polls.length) seen.push(polls[poll]!.atMs - bookedAtMs[k - 1]!);
    }

    const outbox = await withPostgres(databaseUrl, (query) => outboxFigures(query, eventId, saleEndedAtMs, 'stats'));
    problems.push(...outbox.problems);
    anomalies.push(...outbox.anomalies);

    // The figures against the database.
    const final = await call('stats', 'GET', statsPath, organizer);
    const expected = await withPostgres(databaseUrl, async (query) => {
      const [sales] = await query<{ bookings: number; gross: number; sold: number }>(
        `SELECT count(*)::int AS bookings, sum(total_cents)::float8 AS gross, sum(cardinality(seat_nos))::int AS sold
         FROM bookings WHERE event_id = $1`,
        [eventId],
      );
      const tiers = await query<{ price_tier: string; seats: number; cents: number }>(
        `SELECT s.price_tier, count(*)::int AS seats, sum(s.price_cents)::float8 AS cents
         FROM booked_seats b JOIN seats s USING (event_id, seat_no) WHERE b.event_id = $1 GROUP BY 1`,
        [eventId],
      );
      return { sales: sales!, tiers };
    });
    const figures = final?.body;
    if (
      figures?.sales.bookings !== expected.sales.bookings ||
      figures.sales.gross_cents !== expected.sales.gross ||
      figures.sales.seats_sold !== expected.sales.sold ||
      figures.seats.sold !== expected.sales.sold
    )
      problems.push(
        `figures ${JSON.stringify(figures?.sales)} differ from the database ${JSON.stringify(expected.sales)}`,
      );
    for (const tier of expected.tiers) {
      const shown = figures?.tiers.find(
        (candidate: { price_tier: string }) => candidate.price_tier === tier.price_tier,
      );
      if (shown?.seats_sold !== tier.seats || shown?.revenue_cents !== tier.cents)
        problems.push(`tier ${tier.price_tier}: ${JSON.stringify(shown)} against ${JSON.stringify(tier)}`);
    }

    // GET …/stats on a quiet service, one at a time.
    const quiet: number[] = [];
    for (let i = 0; i < options.statsRequests && !stopRequested(); i += 1) {
      const answer = await call('stats (quiet)', 'GET', statsPath, organizer);
      if (answer?.status === 200) quiet.push(answer.ms);
    }

    const csv = await call('attendees.csv', 'GET', `/v1/events/${eventId}/attendees.csv`, organizer);
    const csvLines = typeof csv?.body === 'string' ? csv.body.split('\r\n').length - 2 : -1;
    if (csvLines !== seatsBooked)
      problems.push(
        `attendees.csv has ${csvLines} seat lines for ${seatsBooked} seats booked (refunded ones included)`,
      );

    const run: SaleStatsRun = {
      scenario: 'sale-stats',
      checks: { ok: problems.length === 0, problems: problems.slice(0, 20) },
      anomalies: anomalies.slice(0, 20),
      mode: options.quick ? 'quick' : 'full',
      at: new Date().toISOString(),
      settings: {
        seats: shape.sections * 1_000,
        bookings: options.bookings,
        stats_requests: options.statsRequests,
        poll_ms: pollMs,
      },
      sale: {
        bookings: bookedAtMs.length,
        seats_booked: seatsBooked,
        seats_refunded: seatsRefunded,
        elapsed_s: round(saleElapsedS, 2),
        confirm_ms: summarize(confirmSamples),
      },
      seen_by_organizer_ms: summarize(seen),
      stats_ms: { during_sale: summarize(polls.map((entry) => entry.ms)), quiet: summarize(quiet) },
      csv: { ms: round(csv?.ms ?? NaN, 1), bytes: csv?.bytes ?? 0, lines: csvLines },
      outbox,
      table: '',
    };
    run.table = saleStatsTable(run);
    log(`\n${run.table}`);
    writeResult(options.out, run, root, log);
    return run.checks.ok ? 0 : 1;
  } finally {
    await rig.cleanUp();
  }
}

const ms = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(1);

export function saleStatsTable(run: SaleStatsRun): string {
  const rows: [string, Summary][] = [
    ['Confirm (pm_card_visa), during the sale', run.sale.confirm_ms],
    ['GET …/stats, polled during the sale', run.stats_ms.during_sale],
    ['GET …/stats, quiet, one at a time', run.stats_ms.quiet],
    ["Booking answered → the organizer's figures count it", run.seen_by_organizer_ms],
  ];
  const lines = markdownTable(
    ['Figure', ...['Count', 'p50 ms', 'p90 ms', 'p99 ms', 'Max ms'].map(right)],
    rows.map(([label, summary]) => [
      label,
      String(summary.count),
      ms(summary.p50),
      ms(summary.p90),
      ms(summary.p99),
      ms(summary.max),
    ]),
  );
  const outbox = run.outbox;
  return [
    ...lines,
    '',
    `attendees.csv of ${run.csv.lines} seats: ${ms(run.csv.ms)} ms, ${(run.csv.bytes / 1024).toFixed(0)} KB.` +
      (outbox
        ? ` Stats consumer, commit to applied (database clock): p50 ${outbox.consumer_lag_ms.p50} ms, p99 ` +
          `${outbox.consumer_lag_ms.p99} ms, max ${outbox.consumer_lag_ms.max} ms over ${outbox.facts_written} facts.`
        : ''),
  ].join('\n');
}

runAsScript(import.meta.url, 'sale-stats', main);
