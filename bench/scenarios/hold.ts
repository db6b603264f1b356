// hold-uncontended-* / hold-contended-*: holds in a closed loop (and, for hold-contended-redis,
// an open loop at a fixed rate), then every hold the client was answered 201 checked against
// the database (or the ceiling's Redis hash).
import { performance } from 'node:perf_hooks';
import { mintUserTokens, seatCountOf, seededRandom } from '../fixtures.ts';
import { round, runLoad, runOpenLoop } from '../load.ts';
import type { HoldResult, OpenLoopPhase } from '../report.ts';
import { verifyCeilingHolds, verifyHolds } from '../verify.ts';
import { emptyLog, failedBase, type Kind, type ScenarioDef, type Verify } from './kind.ts';
import { holdHeaders, holdRequest, reservationIdOf, uncontendedBudget, uncontendedSeats } from './requests.ts';
import { interrupted, log, options } from './run-state.ts';
import { perRequest, holdEvent, type Session, startMeasuring, warmUp } from './session.ts';
import {
  authSecret,
  bigEvent,
  connections,
  contendedUsers,
  hotSeats,
  openLoopFraction,
  openLoopMaxInFlight,
  requestTimeoutMs,
  uncontendedUsers,
} from './settings.ts';

/** The seats request `index` asks for: the uncontended pattern, or (contended) 1 or 2 seeded random hot seats. */
function seatPicker(contended: boolean): (index: number) => number[] {
  const random = seededRandom(20_240_601); // every run, and every server, asks for the same seats
  return (index) => {
    if (!contended) return uncontendedSeats(index);
    const first = Math.floor(random() * hotSeats);
    if (random() < 0.5) return [first];
    let second = Math.floor(random() * (hotSeats - 1));
    if (second >= first) second += 1;
    return [first, second];
  };
}

async function holdScenario(
  def: ScenarioDef,
  session: Session,
  anomalies: string[],
): Promise<{ result: HoldResult; verify?: Verify }> {
  const contended = def.kind === 'hold-contended';
  const maxSeatsPerUser = contended ? 8 : 1_000;
  const users = contended ? contendedUsers : uncontendedUsers;
  const ceiling = session.setup === 'ceiling';

  const created = await holdEvent(session, bigEvent, `Bench ${def.name}`, maxSeatsPerUser);
  const seatCount = seatCountOf(bigEvent);
  const headers = (await mintUserTokens(authSecret, `${def.name}-user`, users)).map(holdHeaders);
  log(
    ceiling
      ? `  ${def.name}: event ${created.eventId} (no seat map on the ceiling server); warming up`
      : `  ${def.name}: event ${created.eventId} created in ${created.seconds.toFixed(2)} s; warming up`,
  );
  await warmUp(session, anomalies);

  const acknowledged = new Map<string, number[]>();
  const inFlight = new Map<number, number[]>();
  const seatsFor = seatPicker(contended);

  log(`  ${def.name}: ${connections} clients for ${options.loadSeconds} s`);
  const measuring = await startMeasuring(session);
  let last201At = 0;
  const loadStartedAt = performance.now();
  const load = await runLoad({
    origin: session.server.origin,
    connections,
    durationMs: options.loadSeconds * 1000,
    // Time is the intended bound; the count caps keep a very fast run inside the event's seats
    // (the ceiling has no seat map: the same seat ids, and more if it is fast enough).
    maxRequests: contended || ceiling ? 2_000_000 : uncontendedBudget(seatCount),
    makeRequest: (index) => {
      const seatNos = seatsFor(index);
      inFlight.set(index, seatNos);
      return holdRequest(created.eventId, headers[index % headers.length]!, seatNos);
    },
    onResponse: (index, status, body) => {
      const seatNos = inFlight.get(index)!;
      inFlight.delete(index);
      if (status === 201) {
        acknowledged.set(reservationIdOf(body), seatNos);
        last201At = performance.now();
      }
    },
    shouldAbort: () => interrupted,
    requestTimeoutMs,
  });
  const { cpu, waits, metrics0, metrics1, loadAverage } = await measuring.stop(load.elapsed_s);

  const count = (status: string) => load.statuses[status] ?? 0;
  const result: HoldResult = {
    name: def.name,
    backend: def.backend,
    kind: def.kind as HoldResult['kind'],
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
      seats_per_request: contended ? '1 or 2 (random)' : '1 or 2 (alternating)',
      users,
      hot_seats: contended ? hotSeats : null,
    },
    last_201_after_s: last201At ? round((last201At - loadStartedAt) / 1000, 3) : null,
    result: load,
    throughput_rps: round(load.requests / load.elapsed_s, 1),
    rate_201_per_s: round(count('201') / load.elapsed_s, 1),
    rate_409_per_s: round(count('409') / load.elapsed_s, 1),
    share_201: load.requests ? round(count('201') / load.requests, 4) : 0,
    share_409: load.requests ? round(count('409') / load.requests, 4) : 0,
    cpu_pct_of_one_core: cpu,
    cpu_ms_per_request: {
      server: perRequest(cpu.server, load.elapsed_s, load.requests),
      postgres: perRequest(cpu.postgres, load.elapsed_s, load.requests),
      redis: perRequest(cpu.redis, load.elapsed_s, load.requests),
    },
    load_average_1m_at_start: round(loadAverage, 2),
    postgres_wait_sample: waits,
    server_side:
      metrics0 && metrics1 && metrics1.holdCount > metrics0.holdCount
        ? {
            hold_mean_ms: round(
              ((metrics1.holdSecondsSum - metrics0.holdSecondsSum) / (metrics1.holdCount - metrics0.holdCount)) * 1000,
              2,
            ),
            event_loop_delay_mean_ms: round(metrics1.loopLagMeanS * 1000, 2),
            event_loop_delay_p99_ms: round(metrics1.loopLagP99S * 1000, 2),
            event_loop_delay_max_ms: round(metrics1.loopLagMaxS * 1000, 2),
          }
        : null,
    verification: null,
  };

  if (ceiling) {
    // No database: check the ceiling's Redis hash now, while the server (and its keys) live.
    result.verification = await verifyCeilingHolds(session.redis!, {
      key: `${session.ceilingPrefix}${created.eventId}:holds`,
      acknowledged,
      hotSeats: contended ? hotSeats : undefined,
    });
    if (!result.verification.ok) result.ok = false;
    return { result };
  }

  const open =
    def.openLoop && !interrupted ? await openLoopPhase(def, session, anomalies, result.throughput_rps) : null;
  if (open) result.open_loop = open.phase;
  if (open?.phase.error) result.ok = false;

  const verify: Verify = async (query) => {
    result.verification = await verifyHolds(query, {
      eventId: created.eventId,
      acknowledged,
      hotSeats: contended ? hotSeats : undefined,
    });
    if (!result.verification.ok) result.ok = false;
    if (open) {
      await open.verify(query);
      if (open.phase.verification && !open.phase.verification.ok) result.ok = false;
    }
  };
  return { result, verify };
}

/**
 * The same workload as the closed loop just measured, on a fresh event (created and warmed
 * up the same way), in an open loop: a fixed arrival rate of openLoopFraction × the closed
 * loop's peak for options.openLoopSeconds, latency from each request's scheduled send time.
 */
async function openLoopPhase(
  def: ScenarioDef,
  session: Session,
  anomalies: string[],
  peakRps: number,
): Promise<{ phase: OpenLoopPhase; verify: Verify }> {
  const contended = def.kind === 'hold-contended';
  const rate = Math.max(1, Math.round(peakRps * openLoopFraction));
  const phase: OpenLoopPhase = {
    peak_rps: peakRps,
    fraction: openLoopFraction,
    target_rate_per_s: rate,
    duration_target_s: options.openLoopSeconds,
    max_in_flight_cap: openLoopMaxInFlight,
    event_id: null,
    result: null,
    verification: null,
  };
  const acknowledged = new Map<string, number[]>();
  let eventId: string | null = null;
  try {
    const created = await holdEvent(session, bigEvent, `Bench ${def.name} open loop`, contended ? 8 : 1_000);
    eventId = created.eventId;
    phase.event_id = eventId;
    const users = contended ? contendedUsers : uncontendedUsers;
    const headers = (await mintUserTokens(authSecret, `${def.name}-open-user`, users)).map(holdHeaders);
    await warmUp(session, anomalies);
    const seatsFor = seatPicker(contended);
    const inFlight = new Map<number, number[]>();
    log(
      `  ${def.name}: open loop at ${Math.round(openLoopFraction * 100)}% of ${peakRps} req/s = ${rate} req/s ` +
        `for ${options.openLoopSeconds} s (event ${eventId})`,
    );
    const total = Math.ceil(rate * options.openLoopSeconds);
    const budget = contended ? total : Math.min(total, uncontendedBudget(seatCountOf(bigEvent)));
    phase.result = await runOpenLoop({
      origin: session.server.origin,
      ratePerS: rate,
      durationMs: (budget / rate) * 1000,
      maxInFlight: openLoopMaxInFlight,
      drainMs: 5_000,
      makeRequest: (index) => {
        const seatNos = seatsFor(index);
        inFlight.set(index, seatNos);
        return holdRequest(eventId!, headers[index % headers.length]!, seatNos);
      },
      onResponse: (index, status, body) => {
        const seatNos = inFlight.get(index)!;
        inFlight.delete(index);
        if (status === 201) acknowledged.set(reservationIdOf(body), seatNos);
      },
      onFailure: (index) => inFlight.delete(index),
      shouldAbort: () => interrupted,
      requestTimeoutMs,
    });
    const l = phase.result.latency_ms.all;
    log(
      `  ${def.name}: open loop ${phase.result.requests} requests, ${phase.result.achieved_rate_per_s} req/s, ` +
        `statuses ${JSON.stringify(phase.result.statuses)}, p50 ${l.p50} ms, p99 ${l.p99} ms`,
    );
  } catch (error) {
    phase.error = error instanceof Error ? error.message : String(error);
    log(`  ${def.name}: open loop FAILED: ${phase.error}`);
  }
  const verify: Verify = async (query) => {
    if (eventId === null) return;
    phase.verification = await verifyHolds(query, {
      eventId,
      acknowledged,
      hotSeats: contended ? hotSeats : undefined,
    });
  };
  return { phase, verify };
}

export const holdKind: Kind<HoldResult> = {
  run: holdScenario,
  failed: (def, message) => ({
    ...failedBase(def, message),
    kind: def.kind as HoldResult['kind'],
    event: null,
    load: {
      connections,
      duration_target_s: options.loadSeconds,
      warmup_s: options.warmupSeconds,
      seats_per_request: '',
      users: 0,
      hot_seats: null,
    },
    last_201_after_s: null,
    result: null,
    throughput_rps: 0,
    rate_201_per_s: 0,
    rate_409_per_s: 0,
    share_201: 0,
    share_409: 0,
    cpu_pct_of_one_core: { server: null, postgres: null, redis: null, bench_client: 0, machine: null, other: null },
    cpu_ms_per_request: { server: null, postgres: null, redis: null },
    load_average_1m_at_start: null,
    postgres_wait_sample: null,
    server_side: null,
    verification: null,
  }),
  summary(result) {
    if (!result.result) return null;
    const l = result.result.latency_ms.all;
    return (
      `${result.name}: ${result.result.requests} requests, ${result.throughput_rps} req/s, ` +
      `statuses ${JSON.stringify(result.result.statuses)}, p50 ${l.p50} ms, p99 ${l.p99} ms` +
      (result.verification ? `, ${result.verification.summary}` : '')
    );
  },
  anomalies(result) {
    const found: string[] = [];
    if (result.result) {
      const fiveXx = Object.entries(result.result.non_2xx).filter(([key]) => key.startsWith('5'));
      if (fiveXx.length > 0)
        found.push(`${result.name}: 5xx answers: ${fiveXx.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      const unexpected = Object.entries(result.result.non_2xx).filter(
        ([key]) => !key.startsWith('5') && key !== '409 SEAT_UNAVAILABLE',
      );
      if (unexpected.length > 0) {
        found.push(
          `${result.name}: unexpected non-2xx answers: ${unexpected.map(([k, v]) => `${k} ×${v}`).join(', ')}`,
        );
      }
      if (result.kind === 'hold-uncontended' && (result.result.non_2xx['409 SEAT_UNAVAILABLE'] ?? 0) > 0) {
        found.push(
          `${result.name}: ${result.result.non_2xx['409 SEAT_UNAVAILABLE']} 409s on seats nobody else asked for`,
        );
      }
      const errors = Object.entries(result.result.errors);
      if (errors.length > 0)
        found.push(`${result.name}: transport errors: ${errors.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      if (result.result.stopped_by === 'count')
        found.push(`${result.name}: stopped at the request cap before the time was up`);
    }
    if (result.open_loop) {
      const open = result.open_loop;
      const label = `${result.name} open loop at ${Math.round(open.fraction * 100)}%`;
      if (open.error) found.push(`${label}: failed: ${open.error}`);
      if (open.result) {
        const bad = [
          ...Object.entries(open.result.non_2xx).filter(([key]) => key !== '409 SEAT_UNAVAILABLE'),
          ...Object.entries(open.result.errors),
        ];
        if (bad.length > 0) found.push(`${label}: ${bad.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
        if (open.result.unsent > 0)
          found.push(`${label}: ${open.result.unsent} requests never sent (the server fell behind the schedule)`);
      }
      if (open.verification && !open.verification.ok)
        found.push(`${label}: CORRECTNESS: ${open.verification.problems.join('; ')}`);
    }
    if (result.verification && !result.verification.ok) {
      found.push(`${result.name}: CORRECTNESS: ${result.verification.problems.join('; ')}`);
    } else if (!result.verification && !result.error) {
      found.push(`${result.name}: not verified`);
    }
    return found;
  },
};
