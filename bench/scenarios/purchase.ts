// confirm-postgres: a hold, then the confirm of it, in a closed loop; then every booking checked
// against what the client was answered.
import { mintUserTokens, seatCountOf, seatId } from '../fixtures.ts';
import { round, runFlow } from '../load.ts';
import type { PurchaseResult } from '../report.ts';
import { verifyPurchases } from '../verify.ts';
import { emptyLog, failedBase, type Kind, type ScenarioDef, type Verify } from './kind.ts';
import {
  holdHeaders,
  purchaseRequests,
  purchaseSteps,
  reservationIdOf,
  uncontendedBudget,
  uncontendedSeats,
} from './requests.ts';
import { interrupted, log, options } from './run-state.ts';
import { createEvent, type Session, startMeasuring, warmUp } from './session.ts';
import { authSecret, bigEvent, connections, paymentMethod, requestTimeoutMs, uncontendedUsers } from './settings.ts';

/** The booking_id of a confirm's 201 answer if it names this reservation, event and the seats its hold asked for. */
function answerDescribes(body: string, reservationId: string, eventId: string, seatNos: number[]): string | null {
  try {
    const booking = JSON.parse(body) as {
      booking_id?: unknown;
      reservation_id?: unknown;
      event_id?: unknown;
      status?: unknown;
      seats?: { seat_id?: unknown }[];
    };
    const answered = (booking.seats ?? []).map((seat) => String(seat.seat_id)).sort();
    const asked = seatNos.map(seatId).sort();
    const matches =
      typeof booking.booking_id === 'string' &&
      booking.reservation_id === reservationId &&
      booking.event_id === eventId &&
      booking.status === 'confirmed' &&
      answered.join() === asked.join();
    return matches ? (booking.booking_id as string) : null;
  } catch {
    return null;
  }
}

async function purchaseScenario(
  def: ScenarioDef,
  session: Session,
  anomalies: string[],
): Promise<{ result: PurchaseResult; verify: Verify }> {
  const maxSeatsPerUser = 1_000;
  const users = uncontendedUsers;
  const created = await createEvent(session, bigEvent, `Bench ${def.name}`, maxSeatsPerUser);
  const seatCount = seatCountOf(bigEvent);
  const headers = (await mintUserTokens(authSecret, `${def.name}-user`, users)).map(holdHeaders);
  log(
    `  ${def.name}: event ${created.eventId} created in ${created.seconds.toFixed(2)} s; warming up (hold + confirm)`,
  );
  await warmUp(session, anomalies, true);

  /** Iteration → the reservation its hold made (hold answered 201). */
  const reservationOf = new Map<number, string>();
  const held = new Map<string, number[]>();
  const confirmed = new Map<string, string>();
  const refused = new Set<string>();
  const unanswered = new Set<string>();
  let answerMismatches = 0;

  log(`  ${def.name}: ${connections} clients for ${options.loadSeconds} s, each holding then confirming`);
  const measuring = await startMeasuring(session);
  const flow = await runFlow({
    origin: session.server.origin,
    connections,
    durationMs: options.loadSeconds * 1000,
    // Time is the intended bound; the count cap keeps a very fast run inside the event's seats.
    maxIterations: uncontendedBudget(seatCount),
    steps: purchaseSteps,
    makeRequest: purchaseRequests(created.eventId, headers, 0, `${def.name}-${created.eventId}`, reservationOf),
    onResponse: (index, step, status, body) => {
      if (step === 0) {
        if (status !== 201) return;
        const reservationId = reservationIdOf(body);
        reservationOf.set(index, reservationId);
        held.set(reservationId, uncontendedSeats(index));
        return;
      }
      const reservationId = reservationOf.get(index)!;
      if (status !== 201) {
        refused.add(reservationId);
        return;
      }
      const bookingId = answerDescribes(body, reservationId, created.eventId, uncontendedSeats(index));
      if (bookingId === null) answerMismatches += 1;
      confirmed.set(reservationId, bookingId ?? '(unreadable answer)');
    },
    onFailure: (index, step) => {
      if (step === 1) unanswered.add(reservationOf.get(index)!);
    },
    shouldAbort: () => interrupted,
    requestTimeoutMs,
  });
  const { cpu, waits, metrics0, metrics1, loadAverage } = await measuring.stop(flow.elapsed_s);

  const hold = flow.steps.hold!;
  const confirm = flow.steps.confirm!;
  const perSecond = (value: number) => round(value / flow.elapsed_s, 1);
  const perPurchase = (pct: number | null) =>
    pct === null ? null : round((pct * 10 * flow.elapsed_s) / Math.max(1, flow.completed), 2);
  const meanMs = (sum0: number, count0: number, sum1: number, count1: number) =>
    count1 > count0 ? round(((sum1 - sum0) / (count1 - count0)) * 1000, 2) : null;
  const result: PurchaseResult = {
    name: def.name,
    backend: def.backend,
    kind: 'purchase',
    setup: def.setup,
    ok: true,
    server_log: emptyLog(),
    event: {
      id: created.eventId,
      seat_count: seatCount,
      max_seats_per_user: maxSeatsPerUser,
      setup_create_s: round(created.seconds, 3),
    },
    load: {
      connections,
      duration_target_s: options.loadSeconds,
      warmup_s: options.warmupSeconds,
      seats_per_request: '1 or 2 (alternating)',
      users,
      payment_method: paymentMethod,
    },
    elapsed_s: flow.elapsed_s,
    stopped_by: flow.stopped_by,
    purchases_started: flow.iterations,
    purchases_completed: flow.completed,
    purchase_rate_per_s: perSecond(flow.completed),
    hold,
    confirm,
    hold_rate_per_s: perSecond(hold.requests),
    confirm_rate_per_s: perSecond(confirm.requests),
    confirm_201_per_s: perSecond(confirm.statuses['201'] ?? 0),
    cpu_pct_of_one_core: cpu,
    cpu_ms_per_purchase: {
      server: perPurchase(cpu.server),
      postgres: perPurchase(cpu.postgres),
      redis: perPurchase(cpu.redis),
    },
    load_average_1m_at_start: round(loadAverage, 2),
    postgres_wait_sample: waits,
    server_side:
      metrics0 && metrics1
        ? {
            hold_mean_ms: meanMs(
              metrics0.holdSecondsSum,
              metrics0.holdCount,
              metrics1.holdSecondsSum,
              metrics1.holdCount,
            ),
            confirm_mean_ms: meanMs(
              metrics0.confirmSecondsSum,
              metrics0.confirmCount,
              metrics1.confirmSecondsSum,
              metrics1.confirmCount,
            ),
            event_loop_delay_mean_ms: round(metrics1.loopLagMeanS * 1000, 2),
            event_loop_delay_p99_ms: round(metrics1.loopLagP99S * 1000, 2),
            event_loop_delay_max_ms: round(metrics1.loopLagMaxS * 1000, 2),
          }
        : null,
    verification: null,
  };
  const verify: Verify = async (query) => {
    result.verification = await verifyPurchases(query, {
      eventId: created.eventId,
      held,
      confirmed,
      refused,
      unanswered,
      answerMismatches,
    });
    if (!result.verification.ok) result.ok = false;
  };
  return { result, verify };
}

export const purchaseKind: Kind<PurchaseResult> = {
  run: purchaseScenario,
  failed: (def, message) => ({
    ...failedBase(def, message),
    kind: 'purchase',
    event: null,
    load: {
      connections,
      duration_target_s: options.loadSeconds,
      warmup_s: options.warmupSeconds,
      seats_per_request: '',
      users: 0,
      payment_method: paymentMethod,
    },
    elapsed_s: 0,
    stopped_by: null,
    purchases_started: 0,
    purchases_completed: 0,
    purchase_rate_per_s: 0,
    hold: null,
    confirm: null,
    hold_rate_per_s: 0,
    confirm_rate_per_s: 0,
    confirm_201_per_s: 0,
    cpu_pct_of_one_core: { server: null, postgres: null, redis: null, bench_client: 0, machine: null, other: null },
    cpu_ms_per_purchase: { server: null, postgres: null, redis: null },
    load_average_1m_at_start: null,
    postgres_wait_sample: null,
    server_side: null,
    verification: null,
  }),
  summary(result) {
    if (!result.confirm) return null;
    const l = result.confirm.latency_ms.all;
    return (
      `${result.name}: ${result.purchases_completed} purchases, ${result.purchase_rate_per_s}/s; ` +
      `${result.confirm.requests} confirms, ${result.confirm_rate_per_s}/s, ` +
      `statuses ${JSON.stringify(result.confirm.statuses)}, p50 ${l.p50} ms, p99 ${l.p99} ms` +
      (result.verification ? `, ${result.verification.ok ? 'OK' : 'FAIL'}: ${result.verification.summary}` : '')
    );
  },
  anomalies(result) {
    const found: string[] = [];
    // Uncontended, with a card that always succeeds: every hold and every confirm should answer 201.
    for (const [step, load] of [
      ['hold', result.hold],
      ['confirm', result.confirm],
    ] as const) {
      if (!load) continue;
      const fiveXx = Object.entries(load.non_2xx).filter(([key]) => key.startsWith('5'));
      if (fiveXx.length > 0)
        found.push(`${result.name}: 5xx answers to ${step}: ${fiveXx.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      // Other 2xx by status; 3xx/4xx by status and problem code (5xx are listed above).
      const unexpected = [
        ...Object.entries(load.statuses).filter(([status]) => status !== '201' && status.startsWith('2')),
        ...Object.entries(load.non_2xx).filter(([key]) => !key.startsWith('5')),
      ];
      if (unexpected.length > 0) {
        found.push(
          `${result.name}: ${step} answers other than 201: ${unexpected.map(([k, v]) => `${k} ×${v}`).join(', ')}`,
        );
      }
      const errors = Object.entries(load.errors);
      if (errors.length > 0)
        found.push(`${result.name}: transport errors on ${step}: ${errors.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    }
    if (result.verification && result.verification.bookings_of_unanswered_confirms > 0) {
      found.push(
        `${result.name}: ${result.verification.bookings_of_unanswered_confirms} confirms got no answer but booked`,
      );
    }
    if (result.stopped_by === 'count') found.push(`${result.name}: stopped at the request cap before the time was up`);
    if (result.verification && !result.verification.ok) {
      found.push(`${result.name}: CORRECTNESS: ${result.verification.problems.join('; ')}`);
    } else if (!result.verification && !result.error) {
      found.push(`${result.name}: not verified`);
    }
    return found;
  },
};
