// The payments-3ds scenario: buyers of whom a share pay with a card that asks for 3-D Secure.
// `npx tsx bench/payments-3ds.ts [--quick] [--sessions N] [--seconds S] [--share-3ds PCT]
// [--think-ms MS] [--poll-ms MS] [--out file.json]`; run by `npm run bench` after the waiting room.
//
// One service process (PAYMENT_PROVIDER=test: the built-in provider, which plays the buyer's
// bank at POST /v1/dev/payments/{id}/complete and delivers Stripe's webhooks in process) on a
// throwaway PostgreSQL database (bench_pay_<timestamp>, dropped at the end), one event of
// 20,000 seats with a refund policy (no fee). `--sessions` buyer sessions, each on a keep-alive
// connection, in a closed loop for `--seconds`: hold 1 or 2 seats nobody else asks for, confirm
// (`--share-3ds` % with pm_card_threeDSecure2Required, the rest pm_card_visa); a 202 is followed,
// after a think time of `--think-ms` ±50% (the buyer at their bank), by the bank's answer (succeeded,
// 1 in 10 failed) and polls of GET /v1/reservations/{id} every `--poll-ms` until it is booked or
// released; 1 in 5 bookings is then cancelled by its buyer, and GET /v1/bookings/{id} is polled
// until its refund has succeeded. The bank's yes to the booking is also read off the service's
// own clock (the booking's created_at), free of polling. Then the database is checked: every
// purchase answered is a booking, every released hold booked nothing, every cancellation
// refunded once, in full.
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseChildArgs, runAsScript, writeResult, type ChildOptions } from './child-scenario.ts';
import {
  eventBody,
  mintToken,
  mintTokenSync,
  seatCountOf,
  seatId,
  seededRandom,
  type SeatMapShape,
} from './fixtures.ts';
import { round } from './load.ts';
import { markdownTable, right } from './markdown.ts';
import { type CpuFigures, startCpuMeter } from './server.ts';
import { startServiceRig, type ServiceRig } from './service-rig.ts';
import { summarize, type Summary } from './stats.ts';
import { withPostgres, type Query } from './verify.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const authSecret = 'payments-3ds-bench-secret-0123456789abcdef';
const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (message: string) => process.stderr.write(`[payments-3ds] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const shape: SeatMapShape = { sections: 20, rowsPerSection: 20, seatsPerRow: 50 }; // 20,000 seats
const users = 2_000;
const bankFailsOneIn = 10;
const cancelOneIn = 5;
/** A purchase still pending, or a refund not made, this long after the step that should end it: a failure. */
const settleTimeoutMs = 10_000;
const requestTimeoutMs = 30_000;

interface Options extends ChildOptions {
  sessions: number;
  seconds: number;
  share3dsPct: number;
  thinkMs: number;
  /** How often a buyer reads the reservation (or booking) while waiting: every poll is load on the server. */
  pollMs: number;
}

/** Latencies in ms, each over every sample (nearest rank). */
export interface Payments3dsLatencies {
  /** POST …/confirm answered 201 (a card paid at once). */
  confirm_201: Summary;
  /** POST …/confirm answered 202 payment_pending (3-D Secure asked). */
  confirm_202: Summary;
  /** From the 202 read to the poll that saw the reservation booked: think time included. */
  pending_to_booked: Summary;
  /**
   * From sending the bank's yes (POST /v1/dev/payments/{id}/complete) to the booking written
   * (its created_at: the webhook applied), on the service's clock; no polling in it.
   */
  bank_to_booked: Summary;
  /** From the bank's yes answered to the poll that saw the booking (what the buyer waits, ±1 poll). */
  bank_to_booked_seen: Summary;
  /** The same when the bank said no: to the poll that saw the hold released. */
  bank_to_released_seen: Summary;
  /** POST /v1/dev/payments/{id}/complete. */
  bank_request: Summary;
  /** POST /v1/bookings/{id}/cancel. */
  cancel_request: Summary;
  /** From sending the cancel to reading its refund succeeded (in its answer, or a poll after). */
  cancel_to_refunded: Summary;
}

export interface Payments3dsRun {
  scenario: 'payments-3ds';
  checks: { ok: boolean; problems: string[] };
  /** Answers other than the expected ones and transport errors: listed, they do not fail the run. */
  anomalies: string[];
  mode: 'quick' | 'full';
  at: string;
  settings: {
    sessions: number;
    seconds: number;
    share_3ds_pct: number;
    think_ms: string;
    bank_fails: string;
    cancels: string;
    seats: number;
    poll_ms: number;
    payment_provider: 'test';
  };
  elapsed_s: number;
  purchases: {
    started: number;
    booked_at_once: number;
    booked_after_3ds: number;
    released_after_3ds: number;
    cancelled: number;
    per_s: number;
  };
  statuses: Record<string, number>;
  errors: Record<string, number>;
  latency_ms: Payments3dsLatencies;
  cpu_pct_of_one_core: CpuFigures;
  /** The markdown table of the figures. */
  table: string;
}

// any: the service's JSON answers, read field by field (their schemas are the OpenAPI document's).
type Answer = { status: number; body: any; ms: number };

interface Recorded {
  statuses: Map<string, number>;
  errors: Map<string, number>;
  samples: { [K in keyof Payments3dsLatencies]: number[] };
  bookedAtOnce: Map<string, { bookingId: string; seatNos: number[] }>;
  /** bankSentAtMs: when the bank's yes was sent, epoch ms (compared with the booking's created_at). */
  bookedAfter3ds: Map<string, { bookingId: string; seatNos: number[]; bankSentAtMs: number }>;
  released: Set<string>;
  cancelled: Map<string, number>;
  started: number;
  anomalies: string[];
}

function newRecord(): Recorded {
  return {
    statuses: new Map(),
    errors: new Map(),
    samples: {
      confirm_201: [],
      confirm_202: [],
      pending_to_booked: [],
      bank_to_booked: [],
      bank_to_booked_seen: [],
      bank_to_released_seen: [],
      bank_request: [],
      cancel_request: [],
      cancel_to_refunded: [],
    },
    bookedAtOnce: new Map(),
    bookedAfter3ds: new Map(),
    released: new Set(),
    cancelled: new Map(),
    started: 0,
    anomalies: [],
  };
}

/** One buyer session's loop, until the deadline: each turn a purchase of its own seats. */
async function buyerSession(
  index: number,
  context: {
    send: ServiceRig['send'];
    eventId: string;
    tokens: string[];
    options: Options;
    deadlineMs: number;
    nextTurn: () => number | null;
    record: Recorded;
  },
) {
  const { send, eventId, tokens, options, record } = context;
  const random = seededRandom(20_261_207 + index);
  const count = (label: string, status: number, body: any) => {
    const key = `${label} ${status}${body?.code ? ` ${body.code}` : ''}`;
    record.statuses.set(key, (record.statuses.get(key) ?? 0) + 1);
  };
  const call = async (
    label: string,
    method: 'GET' | 'POST',
    path: string,
    token: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer | null> => {
    try {
      const answer = await send(method, path, token, body, headers);
      if (method === 'POST') count(label, answer.status, answer.body);
      return answer;
    } catch (error) {
      const key = `${label}: ${(error as { code?: string }).code ?? (error as Error).name}`;
      record.errors.set(key, (record.errors.get(key) ?? 0) + 1);
      return null;
    }
  };
  /** Polls until done() says yes (answers its value) or the timeout (null). */
  const pollUntil = async <T>(path: string, token: string, done: (body: any) => T | null) => {
    const deadline = performance.now() + settleTimeoutMs;
    while (performance.now() < deadline) {
      const answer = await call('poll', 'GET', path, token);
      if (answer?.status === 200) {
        const value = done(answer.body);
        if (value !== null) return { value, atMs: performance.now() };
      }
      await sleep(options.pollMs);
    }
    return null;
  };

  for (let turn = context.nextTurn(); turn !== null; turn = context.nextTurn()) {
    if (performance.now() >= context.deadlineMs) return;
    const token = tokens[turn % tokens.length]!;
    const seatNos = turn % 2 === 0 ? [2 * turn] : [2 * turn, 2 * turn + 1];
    record.started += 1;
    const held = await call('hold', 'POST', `/v1/events/${eventId}/reservations`, token, {
      seat_ids: seatNos.map(seatId),
    });
    if (held?.status !== 201) continue;
    const reservationId: string = held.body.reservation_id;
    const threeDs = random() * 100 < options.share3dsPct;
    const confirmed = await call(
      'confirm',
      'POST',
      `/v1/reservations/${reservationId}/confirm`,
      token,
      { payment_method: threeDs ? 'pm_card_threeDSecure2Required' : 'pm_card_visa' },
      { 'idempotency-key': `bench-3ds-${turn}` },
    );
    if (!confirmed) continue;
    let bookingId: string | null = null;
    if (confirmed.status === 201) {
      record.samples.confirm_201.push(confirmed.ms);
      bookingId = confirmed.body.booking_id;
      record.bookedAtOnce.set(reservationId, { bookingId: bookingId!, seatNos });
    } else if (confirmed.status === 202) {
      record.samples.confirm_202.push(confirmed.ms);
      const pendingAtMs = performance.now();
      const paymentId: string = confirmed.body.payment.payment_id;
      await sleep(options.thinkMs * (0.5 + random())); // at the bank
      const outcome = random() * bankFailsOneIn < 1 ? 'failed' : 'succeeded';
      const bankSentAtMs = Date.now();
      const bank = await call('bank', 'POST', `/v1/dev/payments/${paymentId}/complete`, token, { outcome });
      if (bank?.status !== 200) continue;
      record.samples.bank_request.push(bank.ms);
      const bankAtMs = performance.now();
      const ended = await pollUntil(`/v1/reservations/${reservationId}`, token, (reservation) =>
        reservation.status === 'confirmed'
          ? { booked: reservation.booking_id as string }
          : reservation.payment_status === 'failed' || reservation.payment_status === 'voided'
            ? { booked: null }
            : null,
      );
      if (!ended) {
        record.anomalies.push(`reservation ${reservationId}: still pending ${settleTimeoutMs} ms after the bank`);
        continue;
      }
      if (ended.value.booked) {
        bookingId = ended.value.booked;
        record.samples.pending_to_booked.push(ended.atMs - pendingAtMs);
        record.samples.bank_to_booked_seen.push(ended.atMs - bankAtMs);
        record.bookedAfter3ds.set(reservationId, { bookingId, seatNos, bankSentAtMs });
        if (outcome === 'failed') record.anomalies.push(`reservation ${reservationId}: booked after the bank said no`);
      } else {
        record.samples.bank_to_released_seen.push(ended.atMs - bankAtMs);
        record.released.add(reservationId);
        if (outcome === 'succeeded')
          record.anomalies.push(`reservation ${reservationId}: released after the bank said yes`);
      }
    }
    if (!bookingId || random() * cancelOneIn >= 1) continue;
    const cancelStartedMs = performance.now();
    const cancelled = await call(
      'cancel',
      'POST',
      `/v1/bookings/${bookingId}/cancel`,
      token,
      {},
      {
        'idempotency-key': `bench-3ds-cancel-${turn}`,
      },
    );
    if (cancelled?.status !== 200) continue;
    record.samples.cancel_request.push(cancelled.ms);
    const refunded = (booking: any) =>
      Array.isArray(booking.refunds) &&
      booking.refunds.length > 0 &&
      booking.refunds.every((refund: { status: string }) => refund.status === 'succeeded')
        ? true
        : null;
    let refundedAtMs: number | null = refunded(cancelled.body) ? performance.now() : null;
    if (refundedAtMs === null)
      refundedAtMs = (await pollUntil(`/v1/bookings/${bookingId}`, token, refunded))?.atMs ?? null;
    if (refundedAtMs === null) {
      record.anomalies.push(`booking ${bookingId}: refund not made ${settleTimeoutMs} ms after the cancel`);
      continue;
    }
    record.samples.cancel_to_refunded.push(refundedAtMs - cancelStartedMs);
    record.cancelled.set(bookingId, seatNos.length);
  }
}

/**
 * The end state in the database against what the buyers were answered (warm-up and measured
 * run: the same event); every problem described. Leftovers that are not wrong go to anomalies.
 */
async function verify(query: Query, eventId: string, records: Recorded[], anomalies: string[]): Promise<string[]> {
  const record = {
    bookedAtOnce: new Map(records.flatMap((one) => [...one.bookedAtOnce])),
    bookedAfter3ds: new Map(records.flatMap((one) => [...one.bookedAfter3ds])),
    released: new Set(records.flatMap((one) => [...one.released])),
    cancelled: new Map(records.flatMap((one) => [...one.cancelled])),
  };
  const problems: string[] = [];
  const bookings = new Map(
    (
      await query<{ id: string; reservation_id: string; seat_nos: number[]; status: string; total_cents: string }>(
        'SELECT id, reservation_id, seat_nos, status, total_cents FROM bookings WHERE event_id = $1',
        [eventId],
      )
    ).map((row) => [row.reservation_id, row]),
  );
  const answered = new Map([...record.bookedAtOnce, ...record.bookedAfter3ds]);
  for (const [reservationId, { bookingId }] of answered) {
    if (bookings.get(reservationId)?.id !== bookingId) problems.push(`booking ${bookingId} answered, not stored`);
  }
  if (bookings.size > answered.size) {
    problems.push(`${bookings.size - answered.size} bookings no buyer was told of (purchases cut off mid-way)`);
  }
  for (const reservationId of record.released) {
    if (bookings.has(reservationId)) problems.push(`released reservation ${reservationId} has a booking`);
  }
  const money = await query<{ id: string; total: string; kept: string; refunded: string; refunds: number }>(
    `SELECT b.id, b.total_cents AS total,
       (SELECT coalesce(sum(s.price_cents), 0) FROM seats s WHERE s.event_id = b.event_id AND s.seat_no = ANY(b.seat_nos)) AS kept,
       (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f WHERE f.booking_id = b.id AND f.status = 'succeeded') AS refunded,
       (SELECT count(*)::int FROM refunds f WHERE f.booking_id = b.id) AS refunds
     FROM bookings b WHERE b.event_id = $1`,
    [eventId],
  );
  for (const row of money) {
    if (Number(row.total) !== Number(row.kept) + Number(row.refunded)) {
      problems.push(`booking ${row.id}: paid ${row.total}, keeps seats worth ${row.kept}, refunded ${row.refunded}`);
    }
    const cancelled = record.cancelled.has(row.id);
    if (row.refunds !== (cancelled ? 1 : 0)) problems.push(`booking ${row.id}: ${row.refunds} refunds`);
  }
  const open = await query<{ payments: number; refunds: number; unbooked: number }>(
    `SELECT (SELECT count(*)::int FROM payments p JOIN reservations r ON r.id = p.reservation_id
             WHERE r.event_id = $1 AND p.status IN ('started', 'requires_action', 'processing')) AS payments,
            (SELECT count(*)::int FROM refunds WHERE status <> 'succeeded') AS refunds,
            (SELECT count(*)::int FROM payments p JOIN reservations r ON r.id = p.reservation_id
             WHERE r.event_id = $1 AND p.status = 'succeeded' AND p.refunded_cents < p.amount_cents
               AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.charge_id = p.charge_id)) AS unbooked`,
    [eventId],
  );
  const { payments, refunds, unbooked } = open[0]!;
  if (refunds > 0) problems.push(`${refunds} refunds not made`);
  if (unbooked > 0) problems.push(`${unbooked} charges that booked nothing are not refunded`);
  // A purchase cut off by the deadline may still be pending: listed, not a failure.
  if (payments > 0) anomalies.push(`${payments} payments still pending at the end`);
  return problems;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');

export function payments3dsTable(run: Pick<Payments3dsRun, 'latency_ms'>): string {
  const rows: [string, keyof Payments3dsLatencies][] = [
    ['Confirm → 201 (card paid at once)', 'confirm_201'],
    ['Confirm → 202 (3-D Secure asked)', 'confirm_202'],
    ['202 → booked (think time included)', 'pending_to_booked'],
    ["Bank's yes sent → booking written (server's clock)", 'bank_to_booked'],
    ["Bank's yes answered → buyer sees it booked (poll)", 'bank_to_booked_seen'],
    ["Bank's no answered → buyer sees it released (poll)", 'bank_to_released_seen'],
    ['Bank request (dev complete)', 'bank_request'],
    ['Buyer cancel request', 'cancel_request'],
    ['Buyer cancel → refund succeeded', 'cancel_to_refunded'],
  ];
  return markdownTable(
    ['Step', ...['Count', 'p50 ms', 'p90 ms', 'p99 ms', 'Max ms'].map(right)],
    rows.map(([label, key]) => {
      const summary = run.latency_ms[key];
      return [label, String(summary.count), ms(summary.p50), ms(summary.p90), ms(summary.p99), ms(summary.max)];
    }),
  ).join('\n');
}

async function main() {
  const options = parseChildArgs<Options>(
    process.argv.slice(2),
    {
      quick: process.argv.includes('--quick'),
      out: null,
      sessions: 0,
      seconds: 0,
      share3dsPct: 30,
      thinkMs: 0,
      pollMs: 50,
    },
    {
      '--sessions': ['sessions', 1, 500],
      '--seconds': ['seconds', 1, 600],
      '--share-3ds': ['share3dsPct', 0, 100],
      '--think-ms': ['thinkMs', 1, 60_000],
      '--poll-ms': ['pollMs', 1, 10_000],
    },
    'npx tsx bench/payments-3ds.ts [--quick] [--sessions N] [--seconds S] [--share-3ds PCT] [--think-ms MS] ' +
      '[--poll-ms MS] [--out file.json]',
  );
  options.sessions ||= options.quick ? 20 : 50;
  options.seconds ||= options.quick ? 3 : 15;
  options.thinkMs ||= options.quick ? 100 : 200;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '').toLowerCase();
  const database = `bench_pay_${stamp}`;
  const rig = await startServiceRig({
    root,
    adminUrl,
    database,
    authSecret,
    connections: options.sessions + 4,
    requestTimeoutMs,
    env: { HOLD_TTL_SECONDS: '600' },
    log,
  });
  const { server, databaseUrl } = rig;
  try {
    const organizer = await mintToken(authSecret, 'payments-bench-organizer', 'organizer');
    const tokens = Array.from({ length: users }, (_, index) =>
      mintTokenSync(authSecret, `payments-bench-${index}`, 'customer'),
    );
    const created = await rig.send('POST', '/v1/events', organizer, {
      ...eventBody(shape, { name: 'Bench payments-3ds', maxSeatsPerUser: 1_000 }),
      refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 0 },
    });
    if (created.status !== 201) throw new Error(`POST /v1/events answered ${created.status}`);
    const eventId: string = created.body.event_id;
    const seats = seatCountOf(shape);
    log(
      `event ${eventId} (${seats} seats); ${options.sessions} sessions for ${options.seconds} s, ` +
        `${options.share3dsPct}% with 3-D Secure, think ${options.thinkMs} ms ±50%`,
    );

    // One unmeasured second first (JIT, pools), on seats of its own.
    let nextTurn = 0;
    const turnsMax = Math.floor(seats / 2);
    const take = () => (nextTurn < turnsMax ? nextTurn++ : null);
    const session = (record: Recorded, deadlineMs: number) =>
      Promise.all(
        Array.from({ length: options.sessions }, (_, index) =>
          buyerSession(index, {
            send: rig.send,
            eventId,
            tokens,
            options,
            deadlineMs,
            nextTurn: take,
            record,
          }),
        ),
      );
    const warmUp = newRecord();
    await session(warmUp, performance.now() + 1_000);

    const record = newRecord();
    const cpu = startCpuMeter(server, database, false);
    const startedMs = performance.now();
    await session(record, startedMs + options.seconds * 1000);
    const elapsedS = (performance.now() - startedMs) / 1000;
    const cpuFigures = cpu(elapsedS);
    if (nextTurn >= turnsMax) record.anomalies.push('ran out of seats before the time was up');

    // The sweeper and the webhooks settle whatever the deadline cut off, then the checks.
    const deadline = Date.now() + settleTimeoutMs;
    const problems = await withPostgres(databaseUrl, async (query) => {
      while (Date.now() < deadline) {
        const [open] = await query<{ n: number }>(
          `SELECT (SELECT count(*) FROM refunds WHERE status <> 'succeeded')::int AS n`,
        );
        if (open!.n === 0) break;
        await sleep(100);
      }
      // The bank's yes to the booking, on the service's clock (the same machine's): no polling in it.
      const booked = [...record.bookedAfter3ds.values()];
      const written = new Map(
        (
          await query<{ id: string; created_ms: number }>(
            'SELECT id, extract(epoch FROM created_at)::float8 * 1000 AS created_ms FROM bookings WHERE id = ANY($1)',
            [booked.map((booking) => booking.bookingId)],
          )
        ).map((row) => [row.id, row.created_ms]),
      );
      for (const booking of booked) {
        const createdMs = written.get(booking.bookingId);
        if (createdMs !== undefined) record.samples.bank_to_booked.push(createdMs - booking.bankSentAtMs);
      }
      return verify(query, eventId, [warmUp, record], record.anomalies);
    });
    for (const [key, count] of record.statuses) {
      const expected = /^(hold 201|confirm 20[12]|bank 200|cancel 200)$/.test(key);
      if (!expected) record.anomalies.push(`${count} × ${key}`);
    }
    for (const [key, count] of record.errors) record.anomalies.push(`${count} transport errors: ${key}`);
    for (const warning of server.logs.slice(0, 5))
      record.anomalies.push(`server logged: ${warning.msg} ${warning.err ?? ''}`);

    const latency = Object.fromEntries(
      Object.entries(record.samples).map(([key, samples]) => [key, summarize(samples)]),
    ) as unknown as Payments3dsLatencies;
    const purchases = record.bookedAtOnce.size + record.bookedAfter3ds.size;
    const run: Payments3dsRun = {
      scenario: 'payments-3ds',
      checks: { ok: problems.length === 0, problems },
      anomalies: record.anomalies,
      mode: options.quick ? 'quick' : 'full',
      at: new Date().toISOString(),
      settings: {
        sessions: options.sessions,
        seconds: options.seconds,
        share_3ds_pct: options.share3dsPct,
        think_ms: `${options.thinkMs} ±50%`,
        bank_fails: `1 in ${bankFailsOneIn}`,
        cancels: `1 in ${cancelOneIn} bookings`,
        seats,
        poll_ms: options.pollMs,
        payment_provider: 'test',
      },
      elapsed_s: round(elapsedS, 2),
      purchases: {
        started: record.started,
        booked_at_once: record.bookedAtOnce.size,
        booked_after_3ds: record.bookedAfter3ds.size,
        released_after_3ds: record.released.size,
        cancelled: record.cancelled.size,
        per_s: round(purchases / elapsedS, 1),
      },
      statuses: Object.fromEntries([...record.statuses].sort()),
      errors: Object.fromEntries(record.errors),
      latency_ms: latency,
      cpu_pct_of_one_core: cpuFigures,
      table: '',
    };
    run.table = payments3dsTable(run);
    process.stderr.write(`${run.table}\n`);
    log(
      `${purchases} purchases (${run.purchases.per_s}/s: ${record.bookedAtOnce.size} at once, ` +
        `${record.bookedAfter3ds.size} after 3-D Secure), ${record.released.size} released by the bank, ` +
        `${record.cancelled.size} cancelled and refunded; ${problems.length === 0 ? 'OK' : `FAIL: ${problems.join('; ')}`}`,
    );
    writeResult(options.out, run, root, log);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await rig.cleanUp();
  }
}

runAsScript(import.meta.url, 'payments-3ds', main);
