// The waiting room under load, in three parts:
//
// 1. The queue itself: RedisWaitingRoom (the adapter the service uses, with the client
//    src/runtime.ts createCrowdControl makes: auto-pipelining, the default command timeout)
//    joined by 500,000 distinct users (20,000 with --quick), at most 2,000 joins in flight:
//    after the opening (arrival numbers) with ids like user-000123, the same with 36-char
//    UUIDs, and the pre-queue (random keys, drawQueueKey). Joins per second, join latency,
//    Redis memory per queued user (INFO used_memory before and after, MEMORY USAGE of the
//    line), then the whole line is read back and checked: one place per user, no arrival
//    number twice, every user told the place they hold (nobody is admitted meanwhile), and
//    the pre-queue shuffled (its order uncorrelated with the order of joining).
// 2. The same over HTTP: the service (src/http/server.ts) on a fresh PostgreSQL database
//    with REDIS_URL, an event with its waiting room on (600 per minute), POST
//    /v1/events/{id}/queue by 50,000 distinct users (3,000) on 200 connections, with one
//    worker, then with WORKERS=2. Every answer must be 200, every user in the line or admitted.
// 3. The admission rate, on each of those services (one process ticking the admitter every
//    ADMIT_TICK_MS=250, then two): an event admitting 3,000 per minute whose pre-queue of
//    2,000 users (1,000) is filled before its sale opens; 10 s (3 s) after the first
//    admission, the admitted set is read back (score = admission end, so admitted at =
//    score − the admission window). Measured rate against the configured one, and the most
//    admitted in any 1 s against the bound rate·1 s + burst (burstOf), which must hold, as
//    must first come first served (the admitted are exactly the smallest pre-queue keys).
// 4. The door (waiting_room.challenge, bench/join-challenge.ts): challenges issued and
//    solutions checked per second in process, a solve at the default cost in Node, and over
//    HTTP (WORKERS=1) challenges per second and 10,000 (2,000) joins with the door off
//    against the same with pre-solved distinct challenges; replays refused.
//
//   npx tsx bench/waiting-room.ts [--quick] [--door-only] [--joins N] [--in-flight N] [--http-joins N]
//     [--connections N] [--admit-per-minute N] [--admission-seconds N] [--door-joins N] [--out file.json]
//
// Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/14, the hold gate's index), every
// key under bench-wr-<stamp>-<random>: (deleted at the end, never FLUSHDB); PostgreSQL:
// BENCH_POSTGRES_URL, a database bench_wr_<stamp> (dropped at the end). Traffic to 127.0.0.1
// only. Timings are only reported; the exit status is 1 when a check fails (result.checks).
// SIGINT / SIGTERM stops it and cleans up; a second one exits at once.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { request } from 'undici';
import type { WaitingRoom } from '../src/app/ports/waiting-room.ts';
import { loadConfig } from '../src/config.ts';
import { burstOf, drawQueueKey } from '../src/domain/waiting-room.ts';
import { createCrowdControl } from '../src/runtime.ts';
import {
  type ChildOptions,
  cleanUpOnStop,
  parseChildArgs,
  releaseStores,
  runAsScript,
  stopRequested,
  writeResult,
} from './child-scenario.ts';
import { eventBody, mintToken, mintUserTokens } from './fixtures.ts';
import { type LoadResult, round, runLoad } from './load.ts';
import { machineBusyBefore, machineCpuSeconds, processCpuSeconds, redisCpuSeconds, ServerProcess } from './server.ts';
import { summarize, type Summary } from './stats.ts';
import { createDatabase } from './verify.ts';
import { doorBenchMaxNumber, doorRun, roomCounts, type DoorRun } from './join-challenge.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const authSecret = 'waiting-room-bench-secret-0123456789abcdef';
const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';
/** The issue's goal for joins against the Redis queue on this machine. */
const joinTargetPerS = 20_000;
const tinyEvent = { sections: 1, rowsPerSection: 1, seatsPerRow: 10 };
/** Every event's admission window: admitted at = the admitted set's score − this. */
const admissionWindowS = 900;
const startedAtMs = performance.now();
const log = (message: string) =>
  process.stderr.write(`[waiting-room] +${((performance.now() - startedAtMs) / 1000).toFixed(1)} s ${message}\n`);
const r2 = (value: number) => round(value, 2);

// ---------------------------------------------------------------- result shapes

export interface QueueJoinRun {
  name: string;
  /** arrival: after the opening (queue key null, the next arrival number); pre-queue: random keys in [0, 1). */
  mode: 'arrival' | 'pre-queue';
  user_ids: 'user-000123' | 'uuid';
  joins_requested: number;
  joins_answered: number;
  in_flight: number;
  elapsed_s: number;
  joins_per_s: number;
  /** Call to answer of RedisWaitingRoom.join, including the wait behind the other joins in flight. */
  latency_ms: Summary;
  errors: Record<string, number>;
  /** % of one core over the run: the machine's redis-server, this process (the client), the whole machine. */
  cpu_pct: { redis: number | null; client: number; machine: number | null };
  memory: {
    used_memory_before: number;
    used_memory_after: number;
    /** (after − before) / users: everything the line costs Redis. */
    bytes_per_user: number;
    /** MEMORY USAGE of the line's sorted set (SAMPLES 0: every member). */
    queue_key_bytes: number | null;
    queue_key_bytes_per_user: number | null;
    encoding: string | null;
  } | null;
  check: {
    ok: boolean;
    problems: string[];
    zcard: number;
    users_found: number;
    duplicate_scores: number;
    /** arrival: every user was told `ahead` = the place they hold at the end (nobody left the line). */
    told_place_is_final: number | null;
    /** arrival: users whose arrival number follows the order the joins were issued in (not required). */
    in_issue_order: number | null;
    /** pre-queue: Spearman's rho between the order of joining and the place drawn (≈ 0 for a shuffle). */
    rank_correlation: number | null;
  };
}

export interface HttpJoinRun {
  name: string;
  workers: number;
  connections: number;
  joins_requested: number;
  event_id: string | null;
  admit_per_minute: number;
  result: LoadResult | null;
  joins_per_s: number;
  /** The answers' `status`: waiting, admitted (the admitter runs meanwhile), or anything else. */
  answer_status: Record<string, number>;
  /** Mean time inside the service per join (its /metrics; one worker only, else null). */
  server_side_mean_ms: number | null;
  cpu_pct: { server: number | null; redis: number | null; client: number; machine: number | null };
  check: { ok: boolean; problems: string[]; in_line: number; admitted: number };
  error?: string;
}

export interface AdmissionRun {
  name: string;
  /** Service processes ticking the admitter (WORKERS=1: one, WORKERS=2: its two workers). */
  processes: number;
  admit_per_minute: number;
  tick_ms: number;
  /** burstOf(admit_per_minute, tick_ms): the places the meter holds at most. */
  burst: number;
  configured_per_s: number;
  window_s: number;
  queued: number;
  /** Milliseconds from the sale's opening to the first admission (at most about one tick). */
  first_admission_after_opening_ms: number | null;
  admitted_in_window: number;
  /** admitted_in_window / window_s; expected ≈ configured_per_s + burst / window_s (the first tick's full meter). */
  measured_per_s: number;
  /** The window after its first second (where the full meter's burst goes): the steady rate. */
  steady_per_s: number | null;
  expected_in_window: number;
  per_second: number[];
  /** Distinct admission instants in the window (each a tick that admitted someone) and their mean size. */
  batches: number;
  mean_batch: number;
  /** The most admitted within any closed 1 s interval, over the whole run, and its bound rate·1 s + burst. */
  max_in_any_1s: number;
  bound_1s: number;
  admitted_total: number;
  queue_left: number;
  check: { ok: boolean; problems: string[]; bound_holds: boolean; first_come_first_served: boolean };
  error?: string;
}

export interface WaitingRoomRun {
  command: string;
  started_at: string;
  mode: 'quick' | 'full';
  machine: {
    cpus: number;
    node: string;
    redis_version: string | null;
    postgres_database: string;
    /** Busy CPU of the whole machine over 1 s before the run (% of one core): others' work skews every figure. */
    busy_before_start_pct: number | null;
    load_average_1m_at_start: number;
  };
  redis: { url: string; key_prefix: string };
  queue: QueueJoinRun[];
  http: HttpJoinRun[];
  /** On the WORKERS=1 service (one admitter), then on the WORKERS=2 one (two). */
  admission: AdmissionRun[];
  /** Part 4: the door (proof-of-work challenges at the join), on a WORKERS=1 service of its own. */
  door: DoorRun | null;
  targets: { join_target_per_s: number; joins_per_s_met: boolean | null };
  checks: { ok: boolean; problems: string[] };
  /** Warnings and errors the services logged (at most 10 per service). */
  service_warnings: string[];
  cleanup: { redis_keys_deleted: number | null; database_dropped: boolean };
}

// ---------------------------------------------------------------- command line

interface CliOptions extends ChildOptions {
  joins: number;
  inFlight: number;
  serialJoins: number;
  httpJoins: number;
  connections: number;
  admitPerMinute: number;
  admissionSeconds: number;
  admissionQueue: number;
  /** Only part 4, the door. */
  doorOnly: boolean;
  doorJoins: number;
}

function parseArgs(argv: string[]): CliOptions {
  const quick = argv.includes('--quick');
  const defaults: CliOptions = {
    quick,
    joins: quick ? 20_000 : 500_000,
    inFlight: 2_000,
    serialJoins: quick ? 500 : 2_000,
    httpJoins: quick ? 3_000 : 50_000,
    connections: 200,
    admitPerMinute: 3_000,
    admissionSeconds: quick ? 3 : 10,
    admissionQueue: quick ? 1_000 : 2_000,
    doorOnly: argv.includes('--door-only'),
    doorJoins: quick ? 2_000 : 10_000,
    out: null,
  };
  const options = parseChildArgs(
    argv.filter((arg) => arg !== '--door-only'),
    defaults,
    {
      '--joins': ['joins', 1, 1_000_000],
      '--in-flight': ['inFlight', 1, 10_000],
      '--http-joins': ['httpJoins', 1, 200_000],
      '--connections': ['connections', 1, 1_000],
      '--admit-per-minute': ['admitPerMinute', 60, 60_000],
      '--admission-seconds': ['admissionSeconds', 1, 60],
      '--door-joins': ['doorJoins', 1, 100_000],
    },
    'npx tsx bench/waiting-room.ts [--quick] [--door-only] [--joins N] [--in-flight N] [--http-joins N] ' +
      '[--connections N] [--admit-per-minute N] [--admission-seconds N] [--door-joins N] [--out file.json]',
  );
  // Enough in line that the admitter never runs dry while it is measured.
  const admissible = Math.ceil((options.admitPerMinute / 60) * (options.admissionSeconds + 3) + 100);
  options.admissionQueue = Math.max(options.admissionQueue, admissible);
  return options;
}

// ---------------------------------------------------------------- small helpers

const aborted = stopRequested;

const codeOf = (error: unknown) =>
  (error as { code?: string }).code ?? (error as Error).message?.slice(0, 60) ?? 'unknown';

/** The keys RedisWaitingRoom keeps for an event (adapters/redis/waiting-room.ts keysOf). */
const roomKeys = (prefix: string, eventId: string) => ({
  queue: `${prefix}{${eventId}}:queue`,
  admitted: `${prefix}{${eventId}}:admitted`,
  arrivals: `${prefix}{${eventId}}:arrivals`,
  meter: `${prefix}{${eventId}}:meter`,
});

async function usedMemory(admin: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1] ?? NaN);
}

/** CPU seconds of a process and its children (the WORKERS > 1 primary's workers). */
function processTreeCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let total = processCpuSeconds(pid);
  if (total === null) return null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (Number(parent) === pid) total += processCpuSeconds(Number(entry)) ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

const clientCpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};
const percentOf = (seconds: number | null, elapsedS: number) =>
  seconds === null || !(elapsedS > 0) ? null : Math.round((seconds / elapsedS) * 100);
const deltaOf = (before: number | null, after: number | null) =>
  before === null || after === null ? null : after - before;

/** The production client (src/runtime.ts), waiting until it is connected (it has no offline queue). */
async function productionRoom(prefix: string) {
  const crowd = createCrowdControl(loadConfig({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix }), (error) =>
    log(`redis client: ${(error as Error).message}`),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await crowd.waitingRoom.waitingCount('connect-probe');
      return crowd;
    } catch (error) {
      if (Date.now() > deadline) {
        await crowd.close();
        throw new Error(`Redis at ${redisUrl} not ready: ${(error as Error).message}`);
      }
      await sleep(50);
    }
  }
}

// ---------------------------------------------------------------- joins at the queue

interface JoinBatch {
  answered: number;
  elapsedS: number;
  latencies: Float64Array;
  /** What each join answered: ahead (waiting), -2 admitted, -1 no answer. */
  ahead: Int32Array;
  errors: Record<string, number>;
}

/** users[i] joins with keys[i] (null: after the opening), at most inFlight at once, for at most limitMs. */
async function joinAll(
  room: WaitingRoom,
  eventId: string,
  users: string[],
  keys: Float64Array | null,
  inFlight: number,
  limitMs: number,
): Promise<JoinBatch> {
  const total = users.length;
  const latencies = new Float64Array(total);
  const ahead = new Int32Array(total).fill(-1);
  const errors: Record<string, number> = {};
  let next = 0;
  let answered = 0;
  const startedAt = performance.now();
  const worker = async () => {
    while (next < total && !aborted() && performance.now() < startedAt + limitMs) {
      const index = next;
      next += 1;
      const sentAt = performance.now();
      try {
        const state = await room.join(eventId, users[index]!, keys ? keys[index]! : null, Date.now());
        ahead[index] = state.kind === 'waiting' ? state.ahead : -2;
        answered += 1;
      } catch (error) {
        const code = codeOf(error);
        errors[code] = (errors[code] ?? 0) + 1;
      }
      latencies[index] = performance.now() - sentAt;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  const elapsedS = (performance.now() - startedAt) / 1000;
  return { answered, elapsedS, latencies: latencies.subarray(0, next), ahead, errors };
}

/** Pre-queue keys as the service draws them (drawQueueKey over crypto-random words). */
function preQueueKeys(count: number): Float64Array {
  const words = randomBytes(count * 8);
  let offset = 0;
  const word = () => {
    const value = words.readUInt32BE(offset);
    offset += 4;
    return value;
  };
  return Float64Array.from({ length: count }, () => drawQueueKey(word));
}

interface QueueSpec {
  name: string;
  mode: QueueJoinRun['mode'];
  ids: QueueJoinRun['user_ids'];
  joins: number;
  inFlight: number;
  memory: boolean;
}

async function queueRun(room: WaitingRoom, admin: Redis, prefix: string, spec: QueueSpec): Promise<QueueJoinRun> {
  const eventId = randomUUID();
  const keys = roomKeys(prefix, eventId);
  const users = Array.from({ length: spec.joins }, (_, i) =>
    spec.ids === 'uuid' ? randomUUID() : `user-${String(i).padStart(6, '0')}`,
  );
  const queueKeys = spec.mode === 'pre-queue' ? preQueueKeys(spec.joins) : null;
  const memoryBefore = spec.memory ? await usedMemory(admin) : NaN;
  const redis0 = redisCpuSeconds();
  const client0 = clientCpuSeconds();
  const machine0 = machineCpuSeconds();
  log(`${spec.name}: ${spec.joins.toLocaleString('en-US')} joins, ${spec.inFlight} in flight`);
  const batch = await joinAll(room, eventId, users, queueKeys, spec.inFlight, 180_000);
  const redisCpu = deltaOf(redis0, redisCpuSeconds());
  const clientCpu = clientCpuSeconds() - client0;
  const machineCpu = deltaOf(machine0, machineCpuSeconds());
  let memory: QueueJoinRun['memory'] = null;
  if (spec.memory) {
    const after = await usedMemory(admin);
    const keyBytes = Number(await admin.call('MEMORY', 'USAGE', keys.queue, 'SAMPLES', '0'));
    const encoding = String(await admin.call('OBJECT', 'ENCODING', keys.queue).catch(() => null));
    memory = {
      used_memory_before: memoryBefore,
      used_memory_after: after,
      bytes_per_user: r2((after - memoryBefore) / spec.joins),
      queue_key_bytes: Number.isFinite(keyBytes) ? keyBytes : null,
      queue_key_bytes_per_user: Number.isFinite(keyBytes) ? r2(keyBytes / spec.joins) : null,
      encoding,
    };
  }
  const check = await checkLine(admin, keys.queue, spec, users, batch);
  await admin.del(keys.queue, keys.arrivals, keys.admitted, keys.meter);
  await room.closeRoom(eventId);
  const result: QueueJoinRun = {
    name: spec.name,
    mode: spec.mode,
    user_ids: spec.ids,
    joins_requested: spec.joins,
    joins_answered: batch.answered,
    in_flight: spec.inFlight,
    elapsed_s: round(batch.elapsedS, 3),
    joins_per_s: Math.round(batch.answered / batch.elapsedS),
    latency_ms: summarize(Array.from(batch.latencies)),
    errors: batch.errors,
    cpu_pct: {
      redis: percentOf(redisCpu, batch.elapsedS),
      client: percentOf(clientCpu, batch.elapsedS)!,
      machine: percentOf(machineCpu, batch.elapsedS),
    },
    memory,
    check,
  };
  const l = result.latency_ms;
  log(
    `${spec.name}: ${result.joins_per_s.toLocaleString('en-US')} joins/s, p50 ${l.p50} ms, p99 ${l.p99} ms, ` +
      `p99.9 ${l.p99_9} ms` +
      (memory
        ? `; ${memory.bytes_per_user} B/user (used_memory), ${memory.queue_key_bytes_per_user} B/user (key)`
        : '') +
      `; ${check.ok ? 'OK' : `FAIL: ${check.problems.join('; ')}`}`,
  );
  return result;
}

/** Reads the whole line back in rank order and checks it against what the joins answered. */
async function checkLine(
  admin: Redis,
  queueKey: string,
  spec: QueueSpec,
  users: string[],
  batch: JoinBatch,
): Promise<QueueJoinRun['check']> {
  const problems: string[] = [];
  const total = users.length;
  const byUuid = spec.ids === 'uuid' ? new Map(users.map((user, index) => [user, index])) : null;
  const indexOf = (member: string) => {
    if (byUuid) return byUuid.get(member) ?? -1;
    const index = /^user-\d{6}$/.test(member) ? Number(member.slice(5)) : -1;
    return index < total ? index : -1;
  };
  const rankOf = new Int32Array(total).fill(-1);
  const zcard = await admin.zcard(queueKey);
  let found = 0;
  let strangers = 0;
  let duplicateScores = 0;
  let badScores = 0;
  let previous = -Infinity;
  const chunk = 50_000;
  for (let start = 0; start < zcard && !aborted(); start += chunk) {
    const flat = await admin.zrange(queueKey, start, start + chunk - 1, 'WITHSCORES');
    for (let j = 0; j < flat.length; j += 2) {
      const index = indexOf(flat[j]!);
      const score = Number(flat[j + 1]);
      if (index < 0 || rankOf[index] !== -1) strangers += 1;
      else {
        rankOf[index] = start + j / 2;
        found += 1;
      }
      if (score === previous) duplicateScores += 1;
      previous = score;
      const valid = spec.mode === 'arrival' ? Number.isInteger(score) && score >= 1 : score >= 0 && score < 1;
      if (!valid) badScores += 1;
    }
  }
  // A join that got no answer (a timeout: the error is reported, not judged here) may or may
  // not have taken its place; one that answered must hold it.
  let answeredMissing = 0;
  for (let i = 0; i < total; i += 1) if (batch.ahead[i] !== -1 && rankOf[i] === -1) answeredMissing += 1;
  if (answeredMissing > 0) problems.push(`${answeredMissing} users whose join answered are not in the line`);
  if (strangers > 0) problems.push(`${strangers} members of the line are not users who joined`);
  if (badScores > 0) problems.push(`${badScores} queue keys out of range for ${spec.mode}`);
  let toldPlaceIsFinal: number | null = null;
  let inIssueOrder: number | null = null;
  let rankCorrelation: number | null = null;
  if (spec.mode === 'arrival') {
    // Arrival numbers are handed out once each, and nobody left the line: the place each
    // user was told on joining is the place they hold now, and those places are 0 … n−1.
    if (duplicateScores > 0) problems.push(`${duplicateScores} arrival numbers given out twice`);
    const told = new Uint8Array(total);
    let toldTwice = 0;
    toldPlaceIsFinal = 0;
    inIssueOrder = 0;
    for (let i = 0; i < total; i += 1) {
      const ahead = batch.ahead[i]!;
      if (ahead >= 0 && ahead < total) {
        if (told[ahead]) toldTwice += 1;
        told[ahead] = 1;
      }
      if (ahead === rankOf[i] || ahead === -1) toldPlaceIsFinal += 1;
      if (ahead === i) inIssueOrder += 1;
    }
    if (toldTwice > 0) problems.push(`${toldTwice} places told to two users`);
    if (toldPlaceIsFinal !== total)
      problems.push(`${total - toldPlaceIsFinal} users were told a place other than the one they hold`);
    toldPlaceIsFinal -= total - batch.answered; // of those who were told one
  } else {
    // Colliding 52-bit keys are harmless (ties break by member) and all but impossible: reported, not failed.
    if (found === total && zcard === total) {
      let squares = 0;
      for (let i = 0; i < total; i += 1) squares += (i - rankOf[i]!) ** 2;
      rankCorrelation = round(1 - (6 * squares) / (total * (total ** 2 - 1)), 4);
      const bound = Math.max(0.05, 6 / Math.sqrt(total));
      if (Math.abs(rankCorrelation) > bound)
        problems.push(`the pre-queue is not shuffled: rank correlation with the order of joining ${rankCorrelation}`);
    }
  }
  return {
    ok: problems.length === 0,
    problems,
    zcard,
    users_found: found,
    duplicate_scores: duplicateScores,
    told_place_is_final: toldPlaceIsFinal,
    in_issue_order: inIssueOrder,
    rank_correlation: rankCorrelation,
  };
}

// ---------------------------------------------------------------- the service

interface Service {
  server: ServerProcess;
  workers: number;
  organizerToken: string;
}

async function startService(
  databaseUrl: string,
  prefix: string,
  workers: number,
  env: Record<string, string> = {},
): Promise<Service> {
  const server = await ServerProcess.start({
    root,
    env: {
      ...env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      AUTH_SECRET: authSecret,
      LOG_LEVEL: 'warn',
      DEMO_EVENT: 'off',
      ADMIT_TICK_MS: '250',
    },
    workers, // start() waits until every worker answers
  });
  log(`service up at ${server.origin} (pid ${server.pid}, WORKERS=${workers})`);
  return { server, workers, organizerToken: await mintToken(authSecret, 'wr-organizer', 'organizer') };
}

async function createRoomEvent(service: Service, name: string, admitPerMinute: number, saleOpensAtMs?: number) {
  const body = {
    ...eventBody(tinyEvent, { name, maxSeatsPerUser: 8 }),
    ...(saleOpensAtMs === undefined ? {} : { sale_opens_at: new Date(saleOpensAtMs).toISOString() }),
    waiting_room: { enabled: true, admit_per_minute: admitPerMinute, admission_window_seconds: admissionWindowS },
  };
  const response = await request(`${service.server.origin}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.organizerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await response.body.text();
  if (response.statusCode !== 201) throw new Error(`POST /v1/events answered ${response.statusCode}: ${text}`);
  return (JSON.parse(text) as { event_id: string }).event_id;
}

const queueRoute = 'POST /v1/events/:event_id/queue';

async function httpRun(
  service: Service,
  admin: Redis,
  prefix: string,
  options: CliOptions,
  admitPerMinute: number,
): Promise<HttpJoinRun> {
  const name = `POST …/queue, WORKERS=${service.workers}`;
  const run: HttpJoinRun = {
    name,
    workers: service.workers,
    connections: options.connections,
    joins_requested: options.httpJoins,
    event_id: null,
    admit_per_minute: admitPerMinute,
    result: null,
    joins_per_s: 0,
    answer_status: {},
    server_side_mean_ms: null,
    cpu_pct: { server: null, redis: null, client: 0, machine: null },
    check: { ok: false, problems: [], in_line: 0, admitted: 0 },
  };
  try {
    const eventId = await createRoomEvent(service, `Waiting room HTTP w${service.workers}`, admitPerMinute);
    run.event_id = eventId;
    const minted = performance.now();
    const tokens = await mintUserTokens(authSecret, `wr-http-w${service.workers}`, options.httpJoins);
    log(`${name}: ${tokens.length} tokens in ${r2((performance.now() - minted) / 1000)} s; joining`);
    const path = `/v1/events/${eventId}/queue`;
    const metricsBefore = service.workers === 1 ? await service.server.metrics() : null;
    const cpu0 = {
      server: processTreeCpuSeconds(service.server.pid),
      redis: redisCpuSeconds(),
      client: clientCpuSeconds(),
      machine: machineCpuSeconds(),
      wall: performance.now(),
    };
    const result = await runLoad({
      origin: service.server.origin,
      connections: options.connections,
      durationMs: options.quick ? 30_000 : 120_000,
      maxRequests: options.httpJoins,
      makeRequest: (index) => ({ method: 'POST', path, headers: { authorization: `Bearer ${tokens[index]}` } }),
      onResponse: (_index, status, body) => {
        if (status !== 200) return;
        let kind = 'unreadable';
        try {
          kind = String((JSON.parse(body) as { status?: unknown }).status);
        } catch {
          // counted as unreadable
        }
        run.answer_status[kind] = (run.answer_status[kind] ?? 0) + 1;
      },
      preconnect: { method: 'GET', path: '/readyz', headers: {} },
      shouldAbort: aborted,
    });
    // CPU over the whole call (runLoad's own clock starts after opening the connections).
    const elapsed = (performance.now() - cpu0.wall) / 1000;
    run.cpu_pct = {
      server: percentOf(deltaOf(cpu0.server, processTreeCpuSeconds(service.server.pid)), elapsed),
      redis: percentOf(deltaOf(cpu0.redis, redisCpuSeconds()), elapsed),
      client: percentOf(clientCpuSeconds() - cpu0.client, elapsed)!,
      machine: percentOf(deltaOf(cpu0.machine, machineCpuSeconds()), elapsed),
    };
    const metricsAfter = metricsBefore ? await service.server.metrics() : null;
    const before = metricsBefore?.routes[queueRoute];
    const after = metricsAfter?.routes[queueRoute];
    if (after && after.count > (before?.count ?? 0))
      run.server_side_mean_ms = r2(((after.sum - (before?.sum ?? 0)) / (after.count - (before?.count ?? 0))) * 1000);
    run.result = result;
    run.joins_per_s = Math.round(result.requests / result.elapsed_s);
    // Every user who joined is in the line or admitted (the admitter runs meanwhile), once.
    const keys = roomKeys(prefix, eventId);
    // Both counts at one instant: the admitter moves users from one set to the other meanwhile.
    const counted = await admin.multi().zcard(keys.queue).zcard(keys.admitted).exec();
    run.check.in_line = Number(counted?.[0]?.[1]);
    run.check.admitted = Number(counted?.[1]?.[1]);
    const ok200 = result.statuses['200'] ?? 0;
    const problems = run.check.problems;
    if (result.requests < options.httpJoins)
      problems.push(`only ${result.requests} of ${options.httpJoins} joins sent (${result.stopped_by})`);
    if (ok200 !== result.requests)
      problems.push(
        `${result.requests - ok200} joins not answered 200: ` + JSON.stringify({ ...result.non_2xx, ...result.errors }),
      );
    const told = (run.answer_status.waiting ?? 0) + (run.answer_status.admitted ?? 0);
    if (told !== ok200) problems.push(`${ok200 - told} answers neither waiting nor admitted`);
    if (run.check.in_line + run.check.admitted !== ok200)
      problems.push(`${run.check.in_line} in line + ${run.check.admitted} admitted, ${ok200} joined`);
    run.check.ok = problems.length === 0;
    const l = result.latency_ms.all;
    log(
      `${name}: ${run.joins_per_s.toLocaleString('en-US')} joins/s, p50 ${l.p50} ms, p99 ${l.p99} ms, ` +
        `statuses ${JSON.stringify(result.statuses)}; ${run.check.ok ? 'OK' : `FAIL: ${problems.join('; ')}`}`,
    );
  } catch (error) {
    run.error = (error as Error).message;
    run.check.problems.push(`could not run: ${run.error}`);
    log(`${name}: FAILED: ${run.error}`);
  }
  return run;
}

// ---------------------------------------------------------------- admission rate

async function admissionRun(
  service: Service,
  room: WaitingRoom,
  admin: Redis,
  prefix: string,
  options: CliOptions,
): Promise<AdmissionRun> {
  const tickMs = 250;
  const rate = options.admitPerMinute;
  const burst = burstOf(rate, tickMs);
  const windowMs = options.admissionSeconds * 1000;
  const name = `${service.workers} ${service.workers === 1 ? 'process' : 'processes'} (WORKERS=${service.workers})`;
  const run: AdmissionRun = {
    name,
    processes: service.workers,
    admit_per_minute: rate,
    tick_ms: tickMs,
    burst,
    configured_per_s: rate / 60,
    window_s: options.admissionSeconds,
    queued: options.admissionQueue,
    first_admission_after_opening_ms: null,
    admitted_in_window: 0,
    measured_per_s: 0,
    steady_per_s: null,
    expected_in_window: round((rate / 60) * options.admissionSeconds + burst, 1),
    per_second: [],
    batches: 0,
    mean_batch: 0,
    max_in_any_1s: 0,
    bound_1s: (rate / 60) * 1 + burst,
    admitted_total: 0,
    queue_left: 0,
    check: { ok: false, problems: [], bound_holds: false, first_come_first_served: false },
  };
  const problems = run.check.problems;
  try {
    // The pre-queue fills before the sale opens (the admitter leaves a room alone until then).
    const opensAtMs = Date.now() + (options.quick ? 1_500 : 2_000);
    const eventId = await createRoomEvent(service, 'Waiting room admission', rate, opensAtMs);
    const admissionWindowMs = admissionWindowS * 1000;
    const users = Array.from({ length: options.admissionQueue }, (_, i) => `adm-${String(i).padStart(6, '0')}`);
    const keys = preQueueKeys(users.length);
    const batch = await joinAll(room, eventId, users, keys, 200, 30_000);
    if (batch.answered !== users.length)
      throw new Error(`only ${batch.answered} of ${users.length} joined the pre-queue`);
    if (Date.now() >= opensAtMs) throw new Error('filling the pre-queue took until past the opening: nothing measured');
    log(`admission, ${name}: ${users.length} in the pre-queue, ${rate}/min from ${new Date(opensAtMs).toISOString()}`);
    const roomKey = roomKeys(prefix, eventId);
    // Bounded: the opening, the first admission, then the window and a tick or two.
    let firstMs: number | null = null;
    const giveUpAt = opensAtMs + 10_000;
    while (firstMs === null && Date.now() < giveUpAt && !aborted()) {
      await sleep(50);
      const head = await admin.zrange(roomKey.admitted, 0, 0, 'WITHSCORES');
      if (head.length === 2) firstMs = Number(head[1]) - admissionWindowMs;
    }
    if (firstMs === null) throw new Error('nobody was admitted within 10 s of the opening');
    await sleep(Math.max(0, firstMs + windowMs + 2 * tickMs - Date.now()));
    const flat = await admin.zrange(roomKey.admitted, 0, -1, 'WITHSCORES');
    run.queue_left = await admin.zcard(roomKey.queue);
    const admittedAt: number[] = [];
    const admitted = new Set<string>();
    for (let j = 0; j < flat.length; j += 2) {
      admitted.add(flat[j]!);
      admittedAt.push(Number(flat[j + 1]) - admissionWindowMs);
    }
    admittedAt.sort((a, b) => a - b);
    run.admitted_total = admitted.size;
    run.first_admission_after_opening_ms = admittedAt[0]! - opensAtMs;
    const start = admittedAt[0]!;
    const inWindow = admittedAt.filter((at) => at < start + windowMs);
    run.admitted_in_window = inWindow.length;
    run.measured_per_s = r2(inWindow.length / options.admissionSeconds);
    if (options.admissionSeconds > 1)
      run.steady_per_s = r2(inWindow.filter((at) => at >= start + 1000).length / (options.admissionSeconds - 1));
    run.per_second = Array.from({ length: options.admissionSeconds }, () => 0);
    for (const at of inWindow) run.per_second[Math.floor((at - start) / 1000)]! += 1;
    run.batches = new Set(inWindow).size;
    run.mean_batch = run.batches ? r2(inWindow.length / run.batches) : 0;
    // The most admissions within any closed interval [t, t + 1 s], t an admission instant.
    let high = 0;
    for (let low = 0; low < admittedAt.length; low += 1) {
      while (high < admittedAt.length && admittedAt[high]! <= admittedAt[low]! + 1000) high += 1;
      run.max_in_any_1s = Math.max(run.max_in_any_1s, high - low);
    }
    run.check.bound_holds = run.max_in_any_1s <= run.bound_1s;
    if (!run.check.bound_holds)
      problems.push(`${run.max_in_any_1s} admitted within 1 s, more than rate·1 s + burst = ${run.bound_1s}`);
    // First come first served: the admitted are exactly the users with the smallest pre-queue keys.
    const order = users.map((_, index) => index).sort((a, b) => keys[a]! - keys[b]!);
    const firstK = order.slice(0, admitted.size).filter((index) => admitted.has(users[index]!)).length;
    run.check.first_come_first_served = firstK === admitted.size;
    if (!run.check.first_come_first_served)
      problems.push(`${admitted.size - firstK} of ${admitted.size} admitted were not at the head of the line`);
    if (run.admitted_total + run.queue_left !== users.length)
      problems.push(`${run.admitted_total} admitted + ${run.queue_left} in line, ${users.length} joined`);
    if (run.queue_left === 0) problems.push('the line ran dry: the rate measured is a lower bound');
    log(
      `admission, ${name}: ${run.measured_per_s}/s measured over ${options.admissionSeconds} s, ` +
        `${run.steady_per_s ?? '–'}/s after the first second (configured ` +
        `${r2(run.configured_per_s)}/s, burst ${burst}); max in 1 s ${run.max_in_any_1s} (bound ${run.bound_1s}); ` +
        `per second ${JSON.stringify(run.per_second)}; ${problems.length === 0 ? 'OK' : `FAIL: ${problems.join('; ')}`}`,
    );
  } catch (error) {
    run.error = (error as Error).message;
    problems.push(`could not run: ${run.error}`);
    log(`admission, ${name}: FAILED: ${run.error}`);
  }
  run.check.ok = problems.length === 0;
  return run;
}

// ---------------------------------------------------------------- main

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '').toLowerCase();
  const prefix = `bench-wr-${stamp}-${randomBytes(3).toString('hex')}:`;
  const database = `bench_wr_${stamp}`;
  const admin = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const services: Service[] = [];
  const rooms: Awaited<ReturnType<typeof productionRoom>>[] = [];
  let databaseCreation: Promise<unknown> | null = null;
  let databaseCreated = false;
  const cleanupResult: WaitingRoomRun['cleanup'] = { redis_keys_deleted: null, database_dropped: false };
  let cleaning: Promise<void> | null = null;
  const cleanup = () => (cleaning ??= cleanUp());
  const cleanUp = async () => {
    for (const service of services) await service.server.stop().catch(() => {});
    for (const crowd of rooms) await crowd.close().catch(() => {});
    await databaseCreation?.catch(() => {});
    Object.assign(cleanupResult, await releaseStores(adminUrl, databaseCreated ? database : null, admin, prefix, log));
    admin.disconnect();
  };
  cleanUpOnStop(cleanup, log);

  try {
    const { busyPct: busyBefore, loadAverage } = await machineBusyBefore();
    log(`machine ${busyBefore ?? '?'}% busy (of one core) before the start, load average ${loadAverage}`);
    await admin.connect();
    const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? null;
    log(`Redis ${redisVersion ?? '?'} at ${redisUrl}, keys under ${prefix}`);

    // 1. The queue alone.
    const queueCrowd = await productionRoom(`${prefix}q:`);
    rooms.push(queueCrowd);
    const specs: QueueSpec[] = [
      {
        name: 'arrival, user-000123 ids',
        mode: 'arrival',
        ids: 'user-000123',
        joins: options.joins,
        inFlight: options.inFlight,
        memory: true,
      },
      {
        name: 'arrival, UUID ids',
        mode: 'arrival',
        ids: 'uuid',
        joins: options.joins,
        inFlight: options.inFlight,
        memory: true,
      },
      {
        name: 'pre-queue, user-000123 ids',
        mode: 'pre-queue',
        ids: 'user-000123',
        joins: options.joins,
        inFlight: options.inFlight,
        memory: true,
      },
      {
        name: 'arrival, one in flight',
        mode: 'arrival',
        ids: 'user-000123',
        joins: options.serialJoins,
        inFlight: 1,
        memory: false,
      },
    ];
    const queue: QueueJoinRun[] = [];
    for (const spec of options.doorOnly ? [] : specs) {
      if (aborted()) break;
      queue.push(await queueRun(queueCrowd.waitingRoom, admin, `${prefix}q:`, spec));
    }

    // 2. Over HTTP, and 3. the admission rate: on one worker, then on two.
    const http: HttpJoinRun[] = [];
    const serviceWarnings: string[] = [];
    const admission: AdmissionRun[] = [];
    const servicePrefix = `${prefix}svc:`;
    if (!aborted()) {
      databaseCreation = createDatabase(adminUrl, database).then(() => (databaseCreated = true));
      await databaseCreation;
      log(`created database ${database}`);
      const databaseUrl = new URL(adminUrl);
      databaseUrl.pathname = `/${database}`;
      const fillCrowd = await productionRoom(servicePrefix);
      rooms.push(fillCrowd);
      for (const workers of options.doorOnly ? [] : [1, 2]) {
        if (aborted()) break;
        const service = await startService(databaseUrl.toString(), servicePrefix, workers);
        services.push(service);
        http.push(await httpRun(service, admin, servicePrefix, options, 600));
        if (!aborted())
          admission.push(await admissionRun(service, fillCrowd.waitingRoom, admin, servicePrefix, options));
        await service.server.stop();
        log(`service WORKERS=${workers} stopped`);
        for (const entry of service.server.logs.slice(0, 10)) {
          const line = `WORKERS=${workers}: ${entry.msg}${entry.err ? `: ${entry.err}` : ''}`;
          serviceWarnings.push(line);
          log(`service logged ${line}`);
        }
      }
    }

    // 4. The door, on a service of its own (the same database, a prefix of its own).
    let door: DoorRun | null = null;
    if (!aborted() && databaseCreated) {
      const databaseUrl = new URL(adminUrl);
      databaseUrl.pathname = `/${database}`;
      const doorPrefix = `${prefix}door:`;
      door = await doorRun(
        async () => {
          const service = await startService(databaseUrl.toString(), doorPrefix, 1, {
            ALTCHA_MAX_NUMBER: String(doorBenchMaxNumber),
          });
          services.push(service);
          return {
            origin: service.server.origin,
            pid: service.server.pid,
            organizerToken: service.organizerToken,
            authSecret,
            createEvent: (name) => createRoomEvent(service, name, 600),
            counts: (eventId) => roomCounts(admin, doorPrefix, eventId),
            stop: () => service.server.stop(),
          };
        },
        { quick: options.quick, joins: options.doorJoins, connections: options.connections, log, aborted },
      );
    }

    const problems = [
      ...(door?.check.problems.map((problem) => `door: ${problem}`) ?? []),
      ...queue.flatMap((q) => q.check.problems.map((problem) => `${q.name}: ${problem}`)),
      ...http.flatMap((h) => h.check.problems.map((problem) => `${h.name}: ${problem}`)),
      ...admission.flatMap((a) => a.check.problems.map((problem) => `admission, ${a.name}: ${problem}`)),
      ...(aborted() ? ['interrupted'] : []),
    ];
    const main500k = queue.find((q) => q.mode === 'arrival' && q.in_flight > 1 && q.user_ids === 'user-000123');
    await cleanup();
    const result: WaitingRoomRun = {
      command: `npx tsx bench/waiting-room.ts ${process.argv.slice(2).join(' ')}`.trim(),
      started_at: startedAt.toISOString(),
      mode: options.quick ? 'quick' : 'full',
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        redis_version: redisVersion,
        postgres_database: database,
        busy_before_start_pct: busyBefore,
        load_average_1m_at_start: loadAverage,
      },
      redis: { url: redisUrl, key_prefix: prefix },
      queue,
      http,
      admission,
      door,
      targets: {
        join_target_per_s: joinTargetPerS,
        joins_per_s_met: main500k ? main500k.joins_per_s >= joinTargetPerS : null,
      },
      checks: { ok: problems.length === 0, problems },
      service_warnings: serviceWarnings,
      cleanup: cleanupResult,
    };
    writeResult(options.out, result, root, log);
    if (!result.checks.ok) log(`CHECKS FAILED: ${problems.join('; ')}`);
    return result.checks.ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

runAsScript(import.meta.url, 'waiting-room', main);
