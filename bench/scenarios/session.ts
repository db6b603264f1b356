// A session: one server under test (the service in one setup, or the ceiling) and what the
// scenarios run on it share: creating their events, the unmeasured warm-up, and measuring the
// CPU, /metrics and PostgreSQL waits around a load.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { eventBody, mintUserTokens, seatCountOf, type SeatMapShape } from '../fixtures.ts';
import { round, runFlow, runLoad, type LoadResult } from '../load.ts';
import type { Backend, Setup } from '../report.ts';
import {
  cpuSecondsDelta,
  machineCpuSeconds,
  postgresCpuSnapshot,
  redisCpuSeconds,
  type ServerProcess,
} from '../server.ts';
import { startWaitSampler, type WaitSampler } from '../verify.ts';
import {
  holdHeaders,
  holdRequest,
  purchaseRequests,
  purchaseSteps,
  reservationIdOf,
  uncontendedBudget,
  uncontendedSeats,
} from './requests.ts';
import { interrupted, options } from './run-state.ts';
import { authSecret, connections, createTimeoutMs, requestTimeoutMs, warmupEvent } from './settings.ts';

export interface Session {
  backend: Backend;
  setup: Setup;
  /** The PostgreSQL database of the run and its URL (postgres backend only). */
  database?: { name: string; url: string };
  /** The benchmark's own Redis connection (setups that use Redis): CPU, checks and clean-up. */
  redis: Redis | null;
  /** The ceiling server's key prefix (ceiling only). */
  ceilingPrefix?: string;
  /** Every event this session created (or, for the ceiling, named). */
  eventIds: string[];
  server: ServerProcess;
  organizerToken: string;
  warmup?: { eventId: string; seats: number; nextRequest: number; tokens: string[] };
}

/** The ceiling server has no events: a hold names any event id, whose seats are any seat ids. */
function ceilingEvent(session: Session) {
  const eventId = randomUUID();
  session.eventIds.push(eventId);
  return { eventId, seconds: 0, bodyBytes: 0 };
}

/** The event of a hold scenario (or warm-up): POST /v1/events on the service, a new id on the ceiling. */
export async function holdEvent(session: Session, shape: SeatMapShape, name: string, maxSeatsPerUser: number) {
  return session.setup === 'ceiling' ? ceilingEvent(session) : await createEvent(session, shape, name, maxSeatsPerUser);
}

export async function createEvent(session: Session, shape: SeatMapShape, name: string, maxSeatsPerUser: number) {
  const body = JSON.stringify(eventBody(shape, { name, maxSeatsPerUser }));
  const startedAt = performance.now();
  const response = await request(`${session.server.origin}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.organizerToken}`, 'content-type': 'application/json' },
    body,
    headersTimeout: createTimeoutMs,
    bodyTimeout: createTimeoutMs,
  });
  const text = await response.body.text();
  const seconds = (performance.now() - startedAt) / 1000;
  if (response.statusCode !== 201) {
    throw new Error(`POST /v1/events answered ${response.statusCode}: ${text.slice(0, 500)}`);
  }
  const created = JSON.parse(text) as { event_id: string; seat_count: number };
  session.eventIds.push(created.event_id);
  if (created.seat_count !== seatCountOf(shape)) {
    throw new Error(`POST /v1/events made ${created.seat_count} seats, expected ${seatCountOf(shape)}`);
  }
  return { eventId: created.event_id, seconds, bodyBytes: Buffer.byteLength(body) };
}

/**
 * Unmeasured load on a separate event, so JIT, pools and caches are warm before measuring:
 * holds, or (purchase: true) holds each followed by its confirm.
 */
export async function warmUp(session: Session, anomalies: string[], purchase = false) {
  // The ceiling has no events to create: a fresh one each time, so the warm-up never runs out of seats.
  if (!session.warmup || session.setup === 'ceiling') {
    const { eventId } = await holdEvent(session, warmupEvent, 'Bench warm-up', 1_000);
    const tokens = await mintUserTokens(authSecret, `warm-${session.backend}-${session.setup}`, 500);
    session.warmup = { eventId, seats: seatCountOf(warmupEvent), nextRequest: 0, tokens };
  }
  const warm = session.warmup;
  const headers = warm.tokens.map(holdHeaders);
  const offset = warm.nextRequest;
  const common = {
    origin: session.server.origin,
    connections,
    durationMs: options.warmupSeconds * 1000,
    shouldAbort: () => interrupted,
    requestTimeoutMs,
  };
  const budget = Math.max(0, uncontendedBudget(warm.seats) - offset);
  const results: LoadResult[] = [];
  if (purchase) {
    const reservationOf = new Map<number, string>();
    const flow = await runFlow({
      ...common,
      maxIterations: budget,
      steps: purchaseSteps,
      makeRequest: purchaseRequests(warm.eventId, headers, offset, `warm-${warm.eventId}`, reservationOf),
      onResponse: (index, step, status, body) => {
        if (step === 0 && status === 201) reservationOf.set(index, reservationIdOf(body));
        else if (step === 1) reservationOf.delete(index);
      },
      onFailure: (index) => reservationOf.delete(index),
    });
    warm.nextRequest += flow.iterations;
    results.push(...Object.values(flow.steps));
  } else {
    const result = await runLoad({
      ...common,
      maxRequests: budget,
      makeRequest: (index) =>
        holdRequest(warm.eventId, headers[(offset + index) % headers.length]!, uncontendedSeats(offset + index)),
    });
    warm.nextRequest += result.requests;
    results.push(result);
  }
  for (const result of results) {
    const fiveXx = Object.entries(result.statuses).filter(([status]) => status.startsWith('5'));
    if (fiveXx.length > 0 || Object.keys(result.errors).length > 0) {
      anomalies.push(
        `warm-up before ${session.server.scenario} (${session.backend}, ${session.setup}): statuses ${JSON.stringify(result.statuses)}, ` +
          `errors ${JSON.stringify(result.errors)}`,
      );
    }
  }
}

export function cpuPercent(before: number | null, after: number | null, seconds: number): number | null {
  return before === null || after === null || seconds <= 0 ? null : round(((after - before) / seconds) * 100, 0);
}

/**
 * Brackets a measured load: server, PostgreSQL, benchmark and machine CPU, the server's
 * /metrics (the first scrape also restarts its event loop delay window) and, on
 * PostgreSQL, where the service's connections were. stop() takes the load's elapsed time.
 */
export async function startMeasuring(session: Session) {
  const loadAverage = os.loadavg()[0]!;
  const metrics0 = await session.server.metrics(); // also restarts the event loop delay window
  const serverCpu0 = session.server.cpuSeconds();
  const postgresCpu0 = session.database ? postgresCpuSnapshot(session.database.name) : null;
  const redisCpu0 = session.redis ? redisCpuSeconds() : null;
  const sampler: WaitSampler | null = session.database ? await startWaitSampler(session.database.url) : null;
  const machineCpu0 = machineCpuSeconds();
  const clientCpu0 = process.cpuUsage();
  return {
    async stop(elapsedS: number) {
      const clientCpu = process.cpuUsage(clientCpu0);
      const waits = sampler ? await sampler.stop() : null;
      const metrics1 = await session.server.metrics();
      const serverCpu1 = session.server.cpuSeconds();
      const postgresCpu1 = session.database ? postgresCpuSnapshot(session.database.name) : null;
      const redisCpu1 = session.redis ? redisCpuSeconds() : null;
      const machineCpu1 = machineCpuSeconds();
      const measured = {
        server: cpuPercent(serverCpu0, serverCpu1, elapsedS),
        postgres: cpuPercent(0, cpuSecondsDelta(postgresCpu0, postgresCpu1), elapsedS),
        redis: cpuPercent(redisCpu0, redisCpu1, elapsedS),
        bench_client: round(((clientCpu.user + clientCpu.system) / 1e6 / elapsedS) * 100, 0),
        machine: cpuPercent(machineCpu0, machineCpu1, elapsedS),
      };
      const cpu = {
        ...measured,
        // Whatever else ran on the machine meanwhile (other jobs skew every figure).
        other:
          measured.machine === null
            ? null
            : Math.max(
                0,
                measured.machine -
                  (measured.server ?? 0) -
                  (measured.postgres ?? 0) -
                  (measured.redis ?? 0) -
                  measured.bench_client,
              ),
      };
      return { cpu, waits, metrics0, metrics1, loadAverage };
    },
  };
}

/** CPU ms per request from a CPU percentage of one core over elapsedS. */
export const perRequest = (pct: number | null, elapsedS: number, requests: number) =>
  pct === null ? null : round((pct * 10 * elapsedS) / Math.max(1, requests), 2);
