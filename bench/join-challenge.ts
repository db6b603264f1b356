// The waiting room's door (an event's waiting_room.challenge), part 4 of bench/waiting-room.ts:
//
// a. The server's own work, in this process (AltchaJoinChallenges, the adapter the service
//    uses): challenges issued per second, and solutions checked per second (each a distinct
//    solved challenge; a check costs the same whatever the cost setting: two HMACs).
// b. A solver's work at the default cost (ALTCHA_MAX_NUMBER unset): altcha-lib's solver in
//    Node on one core, as a farm would run it (the browser's own figure is printed by
//    test/browser/join-challenge.test.ts).
// c. Over HTTP, one service process (WORKERS=1) with Redis: GET …/queue/challenge for every
//    joiner (challenges per second), the answers solved here beforehand (at ALTCHA_MAX_NUMBER
//    =1000, so the solving stays short: the server's work does not depend on it), then the
//    same number of distinct users join an event with the door off (no body) and one with it
//    on (each with its own solution): joins per second on against off. Then a sample of the
//    used solutions is sent again by other users: every one must be refused (replayed), and
//    every user who joined must be in the line or admitted.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type { Challenge } from 'altcha-lib/types';
import { request } from 'undici';
import { AltchaJoinChallenges } from '../src/adapters/tokens/altcha-challenges.ts';
import { loadConfig } from '../src/config.ts';
import { mintUserTokens } from './fixtures.ts';
import { type LoadRequest, type LoadResult, round, runLoad } from './load.ts';
import { processCpuSeconds } from './server.ts';
import { summarize, type Summary } from './stats.ts';

export interface DoorJoinRun {
  door: 'off' | 'on';
  joins_per_s: number;
  latency_ms: { p50: number; p99: number };
  statuses: Record<string, number>;
  non_2xx: Record<string, number>;
  /** % of one core: the service process over the run. */
  server_cpu_pct: number | null;
  /** The service's CPU time per join (the figure that does not depend on who else is busy). */
  server_cpu_ms_per_join: number | null;
}

export interface DoorRun {
  in_process: {
    issued: number;
    issued_per_s: number;
    checked: number;
    checked_per_s: number;
    /** Every check found its solution good (distinct, unexpired, signed). */
    all_verified: boolean;
  };
  solver: {
    max_number: number;
    solves: number;
    /** altcha-lib's solver in Node, one core, one solve at a time. */
    node_solve_ms: Summary;
  };
  http: {
    workers: 1;
    max_number: number;
    joins_per_door: number;
    connections: number;
    challenges_per_s: number;
    challenge_latency_ms: { p50: number; p99: number };
    /** Solving every challenge here, before the joins (not part of any rate). */
    solve_all_s: number;
    off: DoorJoinRun;
    on: DoorJoinRun;
    /** on.joins_per_s / off.joins_per_s. */
    on_vs_off: number;
    replays_sent: number;
    replays_refused: number;
    in_line_or_admitted_on: number;
  } | null;
  check: { ok: boolean; problems: string[] };
  error?: string;
}

export interface DoorService {
  origin: string;
  pid: number | undefined;
  organizerToken: string;
  authSecret: string;
  createEvent(name: string): Promise<string>;
  /** ZCARD of the event's line and of its admitted set. */
  counts(eventId: string): Promise<{ inLine: number; admitted: number }>;
}

export interface DoorOptions {
  quick: boolean;
  joins: number;
  connections: number;
  log: (message: string) => void;
  aborted: () => boolean;
}

const r2 = (value: number) => round(value, 2);
const elapsedSince = (startedMs: number) => (performance.now() - startedMs) / 1000;

/** Runs `count` calls of `task`, `inFlight` at a time; the seconds it took. */
async function timed(count: number, inFlight: number, task: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  const startedMs = performance.now();
  const worker = async () => {
    while (next < count) {
      const index = next;
      next += 1;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return elapsedSince(startedMs);
}

const altchaOf = async (challenge: Challenge) => {
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) throw new Error('a challenge without a solution');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
};

/** a. The adapter alone: issue and check rates in this process. */
async function inProcess(count: number, log: DoorOptions['log']): Promise<DoorRun['in_process']> {
  const nowMs = Date.now();
  const door = new AltchaJoinChallenges({
    secret: randomBytes(32).toString('base64url'),
    expiresMs: 300_000,
    maxNumber: 1_000,
  });
  const challenges: Challenge[] = new Array(count);
  const issueS = await timed(count, 64, async (index) => {
    challenges[index] = (await door.issue('bench-event', nowMs)) as unknown as Challenge;
  });
  const solved: string[] = [];
  for (const challenge of challenges) solved.push(await altchaOf(challenge));
  let verified = 0;
  const checkS = await timed(count, 64, async (index) => {
    const result = await door.check(solved[index]!, 'bench-event', nowMs);
    if (typeof result !== 'string') verified += 1;
  });
  const run = {
    issued: count,
    issued_per_s: Math.round(count / issueS),
    checked: count,
    checked_per_s: Math.round(count / checkS),
    all_verified: verified === count,
  };
  log(`door, in process: ${run.issued_per_s}/s challenges issued, ${run.checked_per_s}/s solutions checked`);
  return run;
}

/** b. A solver at the default cost, in Node on one core. */
async function solverCost(solves: number, log: DoorOptions['log']): Promise<DoorRun['solver']> {
  const maxNumber = loadConfig({}).ALTCHA_MAX_NUMBER;
  const door = new AltchaJoinChallenges({
    secret: 'bench-solver-secret-0123456789abcdef',
    expiresMs: 300_000,
    maxNumber,
  });
  const times: number[] = [];
  for (let index = 0; index < solves; index += 1) {
    const challenge = (await door.issue('bench-event', Date.now())) as unknown as Challenge;
    const startedMs = performance.now();
    await altchaOf(challenge);
    times.push(performance.now() - startedMs);
  }
  const run = { max_number: maxNumber, solves, node_solve_ms: summarize(times) };
  log(
    `door, solver: ALTCHA_MAX_NUMBER=${maxNumber}: Node solves in ${r2(run.node_solve_ms.mean)} ms on average ` +
      `(p50 ${r2(run.node_solve_ms.p50)}, max ${r2(run.node_solve_ms.max)}) on one core`,
  );
  return run;
}

function joinRun(door: DoorJoinRun['door'], result: LoadResult, cpuS: number | null, wallS: number): DoorJoinRun {
  return {
    door,
    joins_per_s: Math.round(result.requests / result.elapsed_s),
    latency_ms: { p50: result.latency_ms.all.p50, p99: result.latency_ms.all.p99 },
    statuses: result.statuses,
    non_2xx: result.non_2xx,
    server_cpu_pct: cpuS === null ? null : Math.round((cpuS / wallS) * 100),
    server_cpu_ms_per_join: cpuS === null ? null : r2((cpuS * 1000) / result.requests),
  };
}

/** c. Over HTTP: challenges per second, then joins with the door off and on. */
async function overHttp(
  service: DoorService,
  options: DoorOptions,
  maxNumber: number,
  problems: string[],
): Promise<NonNullable<DoorRun['http']>> {
  const { joins, connections, log, aborted } = options;
  const offEvent = await service.createEvent('Door off');
  const onEvent = await service.createEvent('Door on');
  const patched = await request(`${service.origin}/v1/events/${onEvent}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${service.organizerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ waiting_room: { enabled: true, challenge: true } }),
  });
  const patchText = await patched.body.text();
  if (patched.statusCode !== 200) throw new Error(`PATCH the door on: ${patched.statusCode} ${patchText}`);

  const challenges: (Challenge | null)[] = new Array(joins).fill(null);
  const fetched = await runLoad({
    origin: service.origin,
    connections: Math.min(connections, 50),
    durationMs: 60_000,
    maxRequests: joins,
    makeRequest: () => ({ method: 'GET', path: `/v1/events/${onEvent}/queue/challenge`, headers: {} }),
    onResponse: (index, status, body) => {
      if (status === 200) challenges[index] = JSON.parse(body) as Challenge;
    },
    shouldAbort: aborted,
  });
  const challengesPerS = Math.round(fetched.requests / fetched.elapsed_s);
  log(`door, HTTP: ${challengesPerS} challenges/s (GET …/queue/challenge, ${fetched.requests})`);
  const solveStartedMs = performance.now();
  const altchas: string[] = [];
  for (const challenge of challenges) {
    if (challenge === null) throw new Error('a challenge request failed');
    altchas.push(await altchaOf(challenge));
  }
  const solveAllS = elapsedSince(solveStartedMs);
  log(`door, HTTP: ${joins} challenges solved here in ${r2(solveAllS)} s (ALTCHA_MAX_NUMBER=${maxNumber})`);

  const tokens = await mintUserTokens(service.authSecret, 'door-user', joins * 2 + 200);
  const joinLoad = async (door: 'off' | 'on') => {
    const eventId = door === 'off' ? offEvent : onEvent;
    const offset = door === 'off' ? 0 : joins;
    const cpu0 = service.pid === undefined ? null : processCpuSeconds(service.pid);
    const wall0 = performance.now();
    const result = await runLoad({
      origin: service.origin,
      connections,
      durationMs: options.quick ? 30_000 : 120_000,
      maxRequests: joins,
      makeRequest: (index): LoadRequest => {
        const path = `/v1/events/${eventId}/queue`;
        const authorization = `Bearer ${tokens[offset + index]}`;
        if (door === 'off') return { method: 'POST', path, headers: { authorization } };
        const body = JSON.stringify({ altcha: altchas[index] });
        return { method: 'POST', path, headers: { authorization, 'content-type': 'application/json' }, body };
      },
      preconnect: { method: 'GET', path: '/readyz', headers: {} },
      shouldAbort: aborted,
    });
    const cpu1 = service.pid === undefined ? null : processCpuSeconds(service.pid);
    const run = joinRun(door, result, cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, elapsedSince(wall0));
    if ((result.statuses['200'] ?? 0) !== joins)
      problems.push(
        `door ${door}: ${joins - (result.statuses['200'] ?? 0)} of ${joins} joins not 200: ${JSON.stringify(result.non_2xx)}`,
      );
    log(
      `door, HTTP: door ${door}: ${run.joins_per_s} joins/s, p50 ${run.latency_ms.p50} ms, p99 ${run.latency_ms.p99} ms, ` +
        `server ${run.server_cpu_pct ?? '?'}% of a core, ${run.server_cpu_ms_per_join ?? '?'} ms of CPU per join; ` +
        JSON.stringify(result.statuses),
    );
    return run;
  };
  const off = await joinLoad('off');
  const on = await joinLoad('on');

  // Replays: used solutions, sent by users who hold no place.
  const replaysSent = Math.min(200, joins);
  let refused = 0;
  for (let index = 0; index < replaysSent; index += 1) {
    const answer = await request(`${service.origin}/v1/events/${onEvent}/queue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[joins * 2 + index]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ altcha: altchas[index] }),
    });
    const body = await answer.body.text();
    if (answer.statusCode === 400 && (JSON.parse(body) as { reason?: string }).reason === 'replayed') refused += 1;
  }
  if (refused !== replaysSent) problems.push(`${replaysSent - refused} of ${replaysSent} replayed solutions let in`);
  const counts = await service.counts(onEvent);
  const inLineOrAdmitted = counts.inLine + counts.admitted;
  if (inLineOrAdmitted !== (on.statuses['200'] ?? 0))
    problems.push(`door on: ${inLineOrAdmitted} in line or admitted, ${on.statuses['200'] ?? 0} joined`);
  log(`door, HTTP: ${refused} of ${replaysSent} replays refused; on/off ${r2(on.joins_per_s / off.joins_per_s)}`);
  return {
    workers: 1,
    max_number: maxNumber,
    joins_per_door: joins,
    connections,
    challenges_per_s: challengesPerS,
    challenge_latency_ms: { p50: fetched.latency_ms.all.p50, p99: fetched.latency_ms.all.p99 },
    solve_all_s: r2(solveAllS),
    off,
    on,
    on_vs_off: r2(on.joins_per_s / off.joins_per_s),
    replays_sent: replaysSent,
    replays_refused: refused,
    in_line_or_admitted_on: inLineOrAdmitted,
  };
}

/** The HTTP part's service runs with this cost (the server's work does not depend on it). */
export const doorBenchMaxNumber = 1_000;

export async function doorRun(
  startService: () => Promise<DoorService & { stop(): Promise<void> }>,
  options: DoorOptions,
): Promise<DoorRun> {
  const problems: string[] = [];
  const run: DoorRun = {
    in_process: { issued: 0, issued_per_s: 0, checked: 0, checked_per_s: 0, all_verified: false },
    solver: { max_number: 0, solves: 0, node_solve_ms: summarize([]) },
    http: null,
    check: { ok: false, problems },
  };
  try {
    run.in_process = await inProcess(options.quick ? 2_000 : 10_000, options.log);
    if (!run.in_process.all_verified) problems.push('in process: a good solution was refused');
    run.solver = await solverCost(options.quick ? 5 : 20, options.log);
    if (!options.aborted()) {
      const service = await startService();
      try {
        run.http = await overHttp(service, options, doorBenchMaxNumber, problems);
      } finally {
        await service.stop();
      }
    }
  } catch (error) {
    run.error = (error as Error).message;
    problems.push(`could not run: ${run.error}`);
    options.log(`door: FAILED: ${run.error}`);
  }
  run.check.ok = problems.length === 0;
  return run;
}

/** ZCARD of the line and of the admitted set (the keys of adapters/redis/waiting-room.ts). */
export async function roomCounts(admin: Redis, prefix: string, eventId: string) {
  const counted = await admin
    .multi()
    .zcard(`${prefix}{${eventId}}:queue`)
    .zcard(`${prefix}{${eventId}}:admitted`)
    .exec();
  return { inLine: Number(counted?.[0]?.[1]), admitted: Number(counted?.[1]?.[1]) };
}
