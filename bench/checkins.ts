// The checkins scenario: the doors open and every ticket is scanned.
// `npx tsx bench/checkins.ts [--quick] [--tickets N] [--buyers N] [--scanners N] [--duplicate-pct PCT]
// [--seconds S] [--out file.json]`; run by `npm run bench` after payments-3ds.
//
// One service process (PAYMENT_PROVIDER=test, no Redis: the outbox's database bus) on a throwaway
// PostgreSQL database (bench_checkin_<timestamp>, dropped at the end) and a temporary DATA_DIR
// (where mail would go; removed at the end). One event; `--buyers` buyers book `--tickets` seats
// between them (holds of up to 4 adjacent seats, each confirmed with pm_card_visa, 50 buyers at a
// time), then read their tickets' codes (GET /v1/bookings/{id}/tickets). Once the outbox has
// drained (its figures are read then, so the scans run on a quiet service), `--scanners`
// scanner clients, each on a keep-alive connection of its own, half with the organizer's token
// and half as staff whose token lists the event, work through every ticket once in a random
// (seeded) order plus `--duplicate-pct` % more scans of tickets drawn at random (a second scan
// at the door), bounded by the list and by `--seconds`. Then the database: each ticket is
// checked in exactly once, by the scanner that was answered 200, at the time the answers
// gave; every other scan of it answered 409 ALREADY_CHECKED_IN; no 5xx.
import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseChildArgs, runAsScript, stopRequested, writeResult, type ChildOptions } from './child-scenario.ts';
import { eventBody, mintTokenSync, seatId, seededRandom, type SeatMapShape } from './fixtures.ts';
import { round } from './load.ts';
import { markdownTable, right } from './markdown.ts';
import { type OutboxFigures, outboxFigures } from './outbox-figures.ts';
import { type CpuFigures, startCpuMeter } from './server.ts';
import { startServiceRig } from './service-rig.ts';
import { summarize, type Summary } from './stats.ts';
import { withPostgres, type Query } from './verify.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const authSecret = 'checkins-bench-secret-0123456789abcdef-0123';
const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (message: string) => process.stderr.write(`[checkins] ${message}\n`);

const organizerId = 'checkins-bench-organizer';
/** Seats per hold (adjacent), each hold confirmed on its own. */
const seatsPerHoldMax = 4;
/** Buyers booking at once (each on the shared keep-alive pool). */
const bookingConcurrency = 50;
/** Unmeasured scans of a forged code before the clock starts: every connection opened, the path warm. */
const warmUpScans = 200;
const requestTimeoutMs = 30_000;
/** The service's bound on an event's max_seats_per_user. */
const maxSeatsPerUserMax = 1_000;
const seed = 20_261_207;

interface Options extends ChildOptions {
  tickets: number;
  buyers: number;
  scanners: number;
  duplicatePct: number;
  /** The scans stop after this long, whatever is left (counted as unsent: an anomaly). */
  seconds: number;
}

export interface CheckinsRun {
  scenario: 'checkins';
  checks: { ok: boolean; problems: string[] };
  /** Transport errors, scans cut off by the time bound, leftovers: listed, they do not fail the run. */
  anomalies: string[];
  mode: 'quick' | 'full';
  at: string;
  settings: {
    tickets: number;
    buyers: number;
    scanners: number;
    duplicate_pct: number;
    seconds_max: number;
    seats_per_hold_max: number;
    scanner_tokens: string;
  };
  booking: {
    bookings: number;
    seats_booked: number;
    elapsed_s: number;
    hold_ms: Summary;
    confirm_ms: Summary;
    tickets_read_ms: Summary;
  };
  scans: {
    listed: number;
    duplicates_listed: number;
    sent: number;
    answered: number;
    unsent: number;
    elapsed_s: number;
    per_s: number;
    admitted_per_s: number;
    statuses: Record<string, number>;
    errors: Record<string, number>;
    latency_ms: { all: Summary; admitted: Summary; already_checked_in: Summary };
  };
  database: { checkins: number; tickets_admitted_by_answers: number; tickets_scanned: number };
  /** The event's facts (bookings) in the outbox, drained before the scans: the database bus. */
  outbox: OutboxFigures | null;
  cpu_pct_of_one_core: CpuFigures;
  /** The markdown table of the figures. */
  table: string;
}

interface Ticket {
  bookingId: string;
  seatNo: number;
  code: string;
}

interface Scanner {
  userId: string;
  token: string;
}

interface Scan {
  ticket: number;
  scanner: string;
  status: number | null;
  /** checked_in_at of the answer (the 200's ticket, or the 409's first scan). */
  checkedInAt: string | null;
  ms: number;
}

// any: the service's JSON answers, read field by field (their schemas are the OpenAPI document's).
type Answer = { status: number; body: any; ms: number };

/**
 * A staff token: HS256 with the server's secret, role staff and the events it may scan
 * (src/http/plugins/auth.ts). Signed with node:crypto like fixtures.ts's mintTokenSync,
 * which has no extra claims.
 */
function mintStaffToken(secret: string, userId: string, eventIds: string[]): string {
  const nowS = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = { role: 'staff', events: eventIds, sub: userId, iat: nowS, exp: nowS + 6 * 3600 };
  const unsigned = `${encode({ alg: 'HS256' })}.${encode(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** After a SIGINT / SIGTERM (its clean-up is under way): no checks, no result. */
function stopIfRequested() {
  if (stopRequested()) throw new Error('interrupted');
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Runs `work` on items, `concurrency` at a time, in order of the list. */
async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length && !stopRequested()) await work(items[next++]!);
    }),
  );
}

/**
 * The end state in the database against the answers the scanners read: every problem
 * described. A scan that got no answer may or may not have checked its ticket in.
 */
async function verify(
  query: Query,
  eventId: string,
  tickets: Ticket[],
  scans: Scan[],
): Promise<{ problems: string[]; database: CheckinsRun['database'] }> {
  const problems: string[] = [];
  const key = (bookingId: string, seatNo: number) => `${bookingId}/${seatNo}`;
  const rows = await query<{ booking_id: string; seat_no: number; checked_in_ms: number; checked_in_by: string }>(
    `SELECT booking_id::text, seat_no, extract(epoch FROM checked_in_at)::float8 * 1000 AS checked_in_ms, checked_in_by
     FROM checkins WHERE event_id = $1`,
    [eventId],
  );
  const stored = new Map(rows.map((row) => [key(row.booking_id, row.seat_no), row]));
  const byTicket = new Map<number, Scan[]>();
  for (const scan of scans) byTicket.set(scan.ticket, [...(byTicket.get(scan.ticket) ?? []), scan]);
  let admittedTickets = 0;
  const shown: string[] = [];
  const problem = (text: string) => {
    if (shown.length < 20) shown.push(text);
    problems.push(text);
  };
  for (const [index, ofTicket] of byTicket) {
    const ticket = tickets[index]!;
    const row = stored.get(key(ticket.bookingId, ticket.seatNo));
    const admitted = ofTicket.filter((scan) => scan.status === 200);
    const unanswered = ofTicket.filter((scan) => scan.status === null).length;
    const name = `ticket ${ticket.bookingId}/${ticket.seatNo}`;
    if (admitted.length > 0) admittedTickets += 1;
    if (admitted.length > 1) problem(`${name}: admitted ${admitted.length} times`);
    if (!row) {
      if (admitted.length > 0 || ofTicket.some((scan) => scan.status === 409))
        problem(`${name}: answered admitted or already checked in, not in checkins`);
      continue;
    }
    if (admitted.length === 0 && unanswered === 0) problem(`${name}: checked in, but no scan was answered 200`);
    if (admitted.length === 1 && row.checked_in_by !== admitted[0]!.scanner)
      problem(`${name}: checked in by ${row.checked_in_by}, answered 200 to ${admitted[0]!.scanner}`);
    for (const scan of ofTicket) {
      if (
        (scan.status === 200 || scan.status === 409) &&
        Date.parse(scan.checkedInAt ?? '') !== Math.round(row.checked_in_ms)
      )
        problem(
          `${name}: a ${scan.status} said checked in at ${scan.checkedInAt}, stored ${new Date(row.checked_in_ms).toISOString()}`,
        );
    }
  }
  const scanned = new Set(byTicket.keys());
  const scannedKeys = new Set([...scanned].map((index) => key(tickets[index]!.bookingId, tickets[index]!.seatNo)));
  const strays = rows.filter((row) => !scannedKeys.has(key(row.booking_id, row.seat_no))).length;
  if (strays > 0) problem(`${strays} tickets checked in that no scanner sent`);
  if (rows.length !== admittedTickets && scans.every((scan) => scan.status !== null))
    problem(`${rows.length} check-ins stored for ${admittedTickets} tickets answered 200`);
  for (const [status, count] of countBy(
    scans.filter((scan) => scan.status !== null),
    (scan) => String(scan.status),
  )) {
    if (status !== '200' && status !== '409') problem(`${count} scans answered ${status}`);
  }
  if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
  return {
    problems: shown,
    database: { checkins: rows.length, tickets_admitted_by_answers: admittedTickets, tickets_scanned: scanned.size },
  };
}

function countBy<T>(items: T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');

export function checkinsTable(run: Pick<CheckinsRun, 'booking' | 'scans'>): string {
  const rows: [string, Summary, number | null][] = [
    ['Hold (up to 4 seats)', run.booking.hold_ms, null],
    ['Confirm (pm_card_visa)', run.booking.confirm_ms, null],
    ["GET …/tickets (a booking's codes)", run.booking.tickets_read_ms, null],
    ['Scan, every answer', run.scans.latency_ms.all, run.scans.per_s],
    ['Scan → 200 admitted', run.scans.latency_ms.admitted, run.scans.admitted_per_s],
    ['Scan → 409 ALREADY_CHECKED_IN', run.scans.latency_ms.already_checked_in, null],
  ];
  return markdownTable(
    ['Request', ...['Count', 'Per s', 'p50 ms', 'p90 ms', 'p99 ms', 'Max ms'].map(right)],
    rows.map(([label, summary, perS]) => [
      label,
      String(summary.count),
      perS === null ? '–' : String(perS),
      ms(summary.p50),
      ms(summary.p90),
      ms(summary.p99),
      ms(summary.max),
    ]),
  ).join('\n');
}

async function main() {
  const options = parseChildArgs<Options>(
    process.argv.slice(2),
    {
      quick: process.argv.includes('--quick'),
      out: null,
      tickets: 0,
      buyers: 0,
      scanners: 32,
      duplicatePct: 10,
      seconds: 0,
    },
    {
      '--tickets': ['tickets', 10, 20_000],
      '--buyers': ['buyers', 1, 5_000],
      '--scanners': ['scanners', 1, 256],
      '--duplicate-pct': ['duplicatePct', 0, 100],
      '--seconds': ['seconds', 1, 600],
    },
    'npx tsx bench/checkins.ts [--quick] [--tickets N] [--buyers N] [--scanners N] [--duplicate-pct PCT] ' +
      '[--seconds S] [--out file.json]',
  );
  options.tickets ||= options.quick ? 500 : 2_000;
  options.buyers ||= options.quick ? 100 : 300;
  options.seconds ||= options.quick ? 30 : 60;
  options.buyers = Math.min(options.buyers, options.tickets);
  if (options.tickets / options.buyers > maxSeatsPerUserMax)
    throw new Error(`usage: at most ${maxSeatsPerUserMax} tickets a buyer (the service's max_seats_per_user)`);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '').toLowerCase();
  const database = `bench_checkin_${stamp}`;
  const rig = await startServiceRig({
    root,
    adminUrl,
    database,
    authSecret,
    connections: Math.max(options.scanners, bookingConcurrency) + 4,
    requestTimeoutMs,
    env: { HOLD_TTL_SECONDS: '600' },
    log,
  });
  const { server, databaseUrl } = rig;
  try {
    const anomalies: string[] = [];
    const problems: string[] = [];
    const errors = new Map<string, number>();
    const call = async (
      label: string,
      method: 'GET' | 'POST',
      path: string,
      token: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Answer | null> => {
      try {
        return await rig.send(method, path, token, body, headers);
      } catch (error) {
        const key = `${label}: ${(error as { code?: string }).code ?? (error as Error).name}`;
        errors.set(key, (errors.get(key) ?? 0) + 1);
        return null;
      }
    };

    const perBuyer = Math.ceil(options.tickets / options.buyers);
    // The event: sections of 20 rows × 50 seats, enough for the tickets; seats 0 … tickets − 1 are sold.
    const shape: SeatMapShape = { sections: Math.ceil(options.tickets / 1_000), rowsPerSection: 20, seatsPerRow: 50 };
    const organizer = mintTokenSync(authSecret, organizerId, 'organizer');
    const created = await call('event', 'POST', '/v1/events', organizer, {
      ...eventBody(shape, { name: `Bench checkins ${stamp}`, maxSeatsPerUser: perBuyer }),
    });
    if (created?.status !== 201)
      throw new Error(`POST /v1/events answered ${created?.status ?? 'nothing'}: ${JSON.stringify(created?.body)}`);
    const eventId: string = created.body.event_id;
    log(
      `event ${eventId}: ${options.buyers} buyers book ${options.tickets} seats, then ${options.scanners} scanners ` +
        `check them in with ${options.duplicatePct}% duplicate scans`,
    );

    // Booking: buyer b takes a run of adjacent seats of its own, in holds of up to 4, each confirmed.
    const holdSamples: number[] = [];
    const confirmSamples: number[] = [];
    const ticketSamples: number[] = [];
    const bookings: { bookingId: string; token: string; seatNos: number[] }[] = [];
    const buyers = Array.from({ length: options.buyers }, (_, b) => b);
    const unexpected = (what: string, answer: Answer | null) => {
      if (answer) problems.push(`${what} answered ${answer.status}${answer.body?.code ? ` ${answer.body.code}` : ''}`);
    };
    const bookingStartedMs = performance.now();
    await inParallel(buyers, bookingConcurrency, async (b) => {
      const token = mintTokenSync(authSecret, `checkins-bench-buyer-${b}`, 'customer');
      const first = b * perBuyer;
      const last = Math.min(options.tickets, first + perBuyer);
      for (let start = first; start < last && !stopRequested(); start += seatsPerHoldMax) {
        const seatNos = Array.from({ length: Math.min(seatsPerHoldMax, last - start) }, (_, i) => start + i);
        const held = await call('hold', 'POST', `/v1/events/${eventId}/reservations`, token, {
          seat_ids: seatNos.map(seatId),
        });
        if (held?.status !== 201) {
          unexpected(`hold of ${seatNos.map(seatId).join(',')}`, held);
          continue;
        }
        holdSamples.push(held.ms);
        const confirmed = await call(
          'confirm',
          'POST',
          `/v1/reservations/${held.body.reservation_id}/confirm`,
          token,
          { payment_method: 'pm_card_visa' },
          { 'idempotency-key': `bench-checkins-${start}` },
        );
        if (confirmed?.status !== 201) {
          unexpected(`confirm of ${held.body.reservation_id}`, confirmed);
          continue;
        }
        confirmSamples.push(confirmed.ms);
        bookings.push({ bookingId: confirmed.body.booking_id, token, seatNos });
      }
    });
    stopIfRequested();
    const bookingElapsedS = (performance.now() - bookingStartedMs) / 1000;
    const bookingEndedAtMs = Date.now();

    // Every booking's tickets, as its buyer reads them.
    const tickets: Ticket[] = [];
    await inParallel(bookings, bookingConcurrency, async (booking) => {
      const read = await call('tickets', 'GET', `/v1/bookings/${booking.bookingId}/tickets`, booking.token);
      if (read?.status !== 200) {
        unexpected(`GET tickets of ${booking.bookingId}`, read);
        return;
      }
      ticketSamples.push(read.ms);
      for (const ticket of read.body.tickets as { seat_id: string; status: string; code: string }[]) {
        if (ticket.status !== 'valid') problems.push(`booking ${booking.bookingId}: a new ticket is ${ticket.status}`);
        tickets.push({ bookingId: booking.bookingId, seatNo: Number(ticket.seat_id.slice(1)), code: ticket.code });
      }
    });
    stopIfRequested();
    const seatsBooked = bookings.reduce((sum, booking) => sum + booking.seatNos.length, 0);
    if (tickets.length !== seatsBooked) problems.push(`${tickets.length} tickets read for ${seatsBooked} seats booked`);
    log(
      `${bookings.length} bookings of ${seatsBooked} seats in ${bookingElapsedS.toFixed(1)} s, ` +
        `${tickets.length} ticket codes read`,
    );

    // The bookings' facts: drained before the scans, so the relay and the consumer do not disturb them.
    const outbox = await withPostgres(databaseUrl, (query) => outboxFigures(query, eventId, bookingEndedAtMs)).catch(
      (error: Error) => {
        anomalies.push(`outbox figures not read: ${error.message}`);
        return null;
      },
    );
    if (outbox) {
      problems.push(...outbox.problems.map((problem) => `outbox: ${problem}`));
      anomalies.push(...outbox.anomalies);
      log(
        `outbox (database bus): ${outbox.facts_written} facts, relay lag p50 ${outbox.relay_lag_ms.p50} / p99 ` +
          `${outbox.relay_lag_ms.p99} ms, commit to ${outbox.consumer} p50 ${outbox.consumer_lag_ms.p50} / p99 ` +
          `${outbox.consumer_lag_ms.p99} ms`,
      );
    }

    // The scanners: half the organizer, half staff whose token lists the event.
    const scanners: Scanner[] = Array.from({ length: options.scanners }, (_, i) =>
      i % 2 === 0
        ? { userId: organizerId, token: organizer }
        : {
            userId: `checkins-bench-staff-${i}`,
            token: mintStaffToken(authSecret, `checkins-bench-staff-${i}`, [eventId]),
          },
    );
    const random = seededRandom(seed);
    const duplicates = Math.round((tickets.length * options.duplicatePct) / 100);
    const scanList = shuffle(
      [
        ...tickets.map((_, index) => index),
        ...Array.from({ length: duplicates }, () => Math.floor(random() * tickets.length)),
      ],
      random,
    );

    // Unmeasured: a forged code from every scanner (400 TICKET_INVALID), so every connection is open.
    let warmUpUnexpected = 0;
    await inParallel(
      Array.from({ length: warmUpScans }, (_, i) => scanners[i % scanners.length]!),
      options.scanners,
      async (scanner) => {
        const answer = await call('warm-up', 'POST', `/v1/events/${eventId}/checkins`, scanner.token, {
          code: 'BX1.bench.not-a-ticket.0',
        });
        if (answer?.status !== 400) warmUpUnexpected += 1;
      },
    );
    if (warmUpUnexpected > 0) anomalies.push(`${warmUpUnexpected} warm-up scans of a forged code not answered 400`);

    const scans: Scan[] = [];
    let next = 0;
    const cpu = startCpuMeter(server, database, false);
    const scanStartedMs = performance.now();
    const deadlineMs = scanStartedMs + options.seconds * 1000;
    await Promise.all(
      scanners.map(async (scanner) => {
        while (next < scanList.length && performance.now() < deadlineMs && !stopRequested()) {
          const ticket = scanList[next++]!;
          const answer = await call('scan', 'POST', `/v1/events/${eventId}/checkins`, scanner.token, {
            code: tickets[ticket]!.code,
          });
          scans.push({
            ticket,
            scanner: scanner.userId,
            status: answer?.status ?? null,
            checkedInAt:
              answer?.status === 200
                ? (answer.body?.ticket?.checked_in_at ?? null)
                : answer?.status === 409
                  ? (answer.body?.checked_in_at ?? null)
                  : null,
            ms: answer?.ms ?? NaN,
          });
        }
      }),
    );
    stopIfRequested();
    const scanElapsedS = (performance.now() - scanStartedMs) / 1000;
    const cpuFigures = cpu(scanElapsedS);
    const unsent = scanList.length - next;
    if (unsent > 0) anomalies.push(`${unsent} scans not sent within ${options.seconds} s`);

    const { problems: found, database: stored } = await withPostgres(databaseUrl, (query) =>
      verify(query, eventId, tickets, scans),
    );
    problems.push(...found);
    for (const [key, count] of errors) anomalies.push(`${count} transport errors: ${key}`);
    for (const warning of server.logs.slice(0, 5)) anomalies.push(`server logged: ${warning.msg} ${warning.err ?? ''}`);

    const answered = scans.filter((scan) => scan.status !== null);
    const latencyOf = (status: number | null) =>
      summarize(answered.filter((scan) => status === null || scan.status === status).map((scan) => scan.ms));
    const admitted = answered.filter((scan) => scan.status === 200).length;
    const scanFigures: CheckinsRun['scans'] = {
      listed: scanList.length,
      duplicates_listed: duplicates,
      sent: scans.length,
      answered: answered.length,
      unsent,
      elapsed_s: round(scanElapsedS, 2),
      per_s: round(answered.length / scanElapsedS, 1),
      admitted_per_s: round(admitted / scanElapsedS, 1),
      statuses: Object.fromEntries([...countBy(answered, (scan) => String(scan.status))].sort()),
      errors: Object.fromEntries([...errors].filter(([key]) => key.startsWith('scan'))),
      latency_ms: { all: latencyOf(null), admitted: latencyOf(200), already_checked_in: latencyOf(409) },
    };
    const run: CheckinsRun = {
      scenario: 'checkins',
      checks: { ok: problems.length === 0, problems },
      anomalies,
      mode: options.quick ? 'quick' : 'full',
      at: new Date().toISOString(),
      settings: {
        tickets: options.tickets,
        buyers: options.buyers,
        scanners: options.scanners,
        duplicate_pct: options.duplicatePct,
        seconds_max: options.seconds,
        seats_per_hold_max: seatsPerHoldMax,
        scanner_tokens: 'half the organizer, half staff (role staff, events: [the event])',
      },
      booking: {
        bookings: bookings.length,
        seats_booked: seatsBooked,
        elapsed_s: round(bookingElapsedS, 2),
        hold_ms: summarize(holdSamples),
        confirm_ms: summarize(confirmSamples),
        tickets_read_ms: summarize(ticketSamples),
      },
      scans: scanFigures,
      database: stored,
      outbox,
      cpu_pct_of_one_core: cpuFigures,
      table: '',
    };
    run.table = checkinsTable(run);
    process.stderr.write(`${run.table}\n`);
    log(
      `${answered.length} scans answered in ${scanFigures.elapsed_s} s (${scanFigures.per_s}/s; ${admitted} admitted, ` +
        `${scanFigures.statuses['409'] ?? 0} already checked in), p50 ${scanFigures.latency_ms.all.p50} ms, p99 ` +
        `${scanFigures.latency_ms.all.p99} ms; ${stored.checkins} check-ins stored for ${stored.tickets_scanned} ` +
        `tickets scanned; ${problems.length === 0 ? 'OK' : `FAIL: ${problems.join('; ')}`}`,
    );
    writeResult(options.out, run, root, log);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await rig.cleanUp();
  }
}

runAsScript(import.meta.url, 'checkins', main);
