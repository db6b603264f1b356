// The live seat map under fan-out: N clients on GET /v1/events/{id}/seats/stream of one
// service process, then holds one at a time; how long each change takes to reach every
// client. The clients run in a few child processes (bench/sse-client.ts) on raw sockets,
// so the client side stays light; their CPU is reported so it can be judged.
//
//   npx tsx bench/sse-fanout.ts            # 10,000 subscribers, 20 changes 500 ms apart
//   npx tsx bench/sse-fanout.ts --quick    # 1,000 subscribers, 5 changes
//
// The command line starts the service (bench/server.ts) on a fresh PostgreSQL database
// bench_sse_<timestamp> (dropped at the end) with REDIS_URL on a database index of its own
// (redis://127.0.0.1:6379/9 by default, BENCH_SSE_REDIS_URL to change it; that index is
// flushed at the start and at the end, so it must not be 0 nor one anything else uses),
// creates a 100,000-seat event, measures the seat map documents, runs the fan-out and
// prints the results as JSON (or, with --out <file.json>, writes them there: `npm run bench`
// runs it that way as its last scenario, sse-fanout). Traffic goes to 127.0.0.1 only.
// SIGINT or SIGTERM stops it and cleans up; a second signal exits at once (the service and
// the client processes are killed on exit, the database may be left behind).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Client, request } from 'undici';
import { type ChildOptions, cleanUpOnStop, parseChildArgs, runAsScript, writeResult } from './child-scenario.ts';
import { eventBody, mintToken, seatCountOf, seatId, seededRandom, type SeatMapShape } from './fixtures.ts';
import { processCpuSeconds, type ServerLogEntry, ServerProcess } from './server.ts';
import type { ClientDone, ClientReady, ClientStart } from './sse-client.ts';
import { summarize, type Summary } from './stats.ts';
import { createDatabase, dropDatabase } from './verify.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const clientScript = fileURLToPath(new URL('./sse-client.ts', import.meta.url));
const now = () => performance.timeOrigin + performance.now();
const r2 = (value: number) => Math.round(value * 100) / 100;

export interface SseFanoutOptions {
  origin: string;
  eventId: string;
  subscribers: number;
  changes: number;
  /** Token of the user who makes hold i (one distinct user per change). */
  holdToken(i: number): Promise<string> | string;
  /** The one seat hold i asks for (distinct, currently available). */
  seatIdFor(i: number): string;
  /** Hold i is sent at start + i × gapMs (never before hold i − 1 has answered). */
  gapMs: number;
  /** Connections being opened at once, over all client processes (default 200). */
  connectConcurrency?: number;
  /** Bound on the connect phase, and on the wait for deliveries after the last hold. */
  timeoutMs: number;
  /** Client processes (default 2). */
  clientProcesses?: number;
  /** The service's pid, for its RSS and CPU from /proc. */
  serverPid?: number;
}

export interface HoldRecord {
  change: number;
  seatId: string;
  status: number;
  /** ms from the first hold's send. */
  sentAtMs: number;
  /** Send → 201 read. */
  holdMs: number;
}

export interface ChangeDelivery {
  change: number;
  seatId: string;
  deliveredTo: number;
  missedBy: number;
  /** ms from the hold's 201 to the message's arrival, over the subscribers it reached. */
  fromAnswer: { min: number; p50: number; p99: number; max: number };
  fromSendP99: number;
  /** First to last subscriber: how long writing the message to every subscriber took, as they saw it. */
  spreadMs: number;
}

export interface SseFanoutResult {
  subscribers: { requested: number; connected: number; failed: number; failures: Record<string, number> };
  clientProcesses: number;
  connect: {
    concurrency: number;
    /** First connect() to the last snapshot read. */
    wallMs: number;
    perSecond: number;
    /** Per connection: connect() to the whole snapshot read. */
    perConnectionMs: Summary;
  };
  snapshot: {
    /** The `event: snapshot` SSE message, bytes (same for every client unless the map changed). */
    messageBytes: { min: number; max: number };
    /** Bytes read per client up to the snapshot: HTTP head, `retry:`, snapshot, chunk framing. */
    bytesToSnapshotMean: number;
    versions: number[];
  };
  holds: HoldRecord[];
  delivery: {
    /** Every (subscriber, change) pair delivered: arrival − the hold's 201. */
    fromAnswer: Summary;
    /** arrival − the hold's send. */
    fromSend: Summary;
    perChange: ChangeDelivery[];
    /** Pairs expected (connected subscribers × holds answered 201) and missed. */
    expectedPairs: number;
    missedPairs: number;
    subscribersMissingAChange: number;
    /** Subscribers the server closed after their snapshot. */
    dropped: number;
    /** Snapshots after the first (a reset would send one). */
    extraSnapshots: number;
    seatMessagesPerSubscriber: number;
    heartbeats: number;
    bytesPerSubscriberAfterSnapshot: number;
    /** Clock offsets of the client processes (ms, ± half the round trip given). */
    clockOffsetsMs: { offset: number; rtt: number }[];
  };
  server: {
    pid: number | null;
    rssMb: { beforeConnect: number | null; afterConnect: number | null; afterDelivery: number | null };
    peakRssMb: number | null;
    rssKbPerSubscriber: number | null;
    /** seat_map_stream_clients from /metrics once every client had its snapshot. */
    streamClientsGauge: number | null;
    /** % of one core during the connect phase and during the holds and their delivery. */
    cpuPercent: { connect: number | null; delivery: number | null };
    /** The server's event loop delay (prom-client, 10 ms resolution) during each phase. */
    loopLagMs: {
      connect: { p99: number | null; max: number | null };
      delivery: { p99: number | null; max: number | null };
    };
    /** Garbage collection in the server during each phase, by kind. */
    gc: {
      connect: Record<string, { ms: number; count: number }> | null;
      delivery: Record<string, { ms: number; count: number }> | null;
    };
  };
  client: {
    /** % of one core, all client processes together, and this process (which sends the holds). */
    cpuPercent: { connect: number; delivery: number };
    parentCpuPercentDelivery: number;
  };
  targets: { subscribersMet: boolean; p99Under100ms: boolean; noneMissed: boolean };
}

// ---------------------------------------------------------------- client processes

interface ClientProc {
  child: ChildProcess;
  messages: unknown[];
  waiters: ((message: unknown) => void)[];
  exited: boolean;
}

const liveClients = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveClients) child.kill('SIGKILL');
});

function startClient(): ClientProc {
  const child = spawn(process.execPath, ['--import', 'tsx', clientScript], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  liveClients.add(child);
  const proc: ClientProc = { child, messages: [], waiters: [], exited: false };
  child.on('message', (message) => {
    const waiter = proc.waiters.shift();
    if (waiter) waiter(message);
    else proc.messages.push(message);
  });
  child.on('exit', () => {
    proc.exited = true;
    liveClients.delete(child);
  });
  return proc;
}

function nextMessage<T>(proc: ClientProc, timeoutMs: number, what: string): Promise<T> {
  const queued = proc.messages.shift();
  if (queued !== undefined) return Promise.resolve(queued as T);
  return new Promise<T>((resolve, reject) => {
    const onExit = () => finish(() => reject(new Error(`client process ${proc.child.pid} exited before ${what}`)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no ${what} from client process ${proc.child.pid} in ${timeoutMs} ms`))),
      timeoutMs,
    );
    const waiter = (message: unknown) => finish(() => resolve(message as T));
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      proc.child.off('exit', onExit);
      const at = proc.waiters.indexOf(waiter);
      if (at !== -1) proc.waiters.splice(at, 1);
      settle();
    };
    proc.waiters.push(waiter);
    if (proc.exited) onExit();
    else proc.child.once('exit', onExit);
  });
}

/** The child's clock minus ours, from the ping with the shortest round trip. */
async function clockOffset(proc: ClientProc): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity };
  for (let id = 0; id < 20; id += 1) {
    const sentAt = now();
    proc.child.send({ type: 'ping', id });
    const pong = await nextMessage<{ type: 'pong'; at: number }>(proc, 10_000, 'pong');
    const rtt = now() - sentAt;
    if (rtt < best.rtt) best = { offset: pong.at - (sentAt + rtt / 2), rtt };
  }
  return { offset: r2(best.offset * 1000) / 1000, rtt: r2(best.rtt * 1000) / 1000 };
}

// ---------------------------------------------------------------- server side figures

function rssKb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number | null {
  if (pid === undefined) return null;
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
const mb = (kb: number | null) => (kb === null ? null : r2(kb / 1024));

interface Scrape {
  streamClients: number | null;
  loopLagP99Ms: number | null;
  loopLagMaxMs: number | null;
  /** Cumulative garbage collection by kind: ms and count. */
  gc: Record<string, { ms: number; count: number }>;
}

/** GET /metrics (which also resets the event loop delay figures). */
async function scrape(origin: string): Promise<Scrape | null> {
  try {
    const response = await request(`${origin}/metrics`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await response.body.text();
    if (response.statusCode !== 200) return null;
    const result: Scrape = { streamClients: null, loopLagP99Ms: null, loopLagMaxMs: null, gc: {} };
    for (const line of text.split('\n')) {
      const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!match) continue;
      const [, name, labels = '', raw] = match;
      const value = Number(raw);
      if (name === 'seat_map_stream_clients') result.streamClients = value;
      else if (name === 'nodejs_eventloop_lag_p99_seconds') result.loopLagP99Ms = r2(value * 1000);
      else if (name === 'nodejs_eventloop_lag_max_seconds') result.loopLagMaxMs = r2(value * 1000);
      else if (name === 'nodejs_gc_duration_seconds_sum' || name === 'nodejs_gc_duration_seconds_count') {
        const kind = /kind="(\w+)"/.exec(labels)?.[1] ?? '?';
        const entry = (result.gc[kind] ??= { ms: 0, count: 0 });
        if (name.endsWith('_sum')) entry.ms = value * 1000;
        else entry.count = value;
      }
    }
    return result;
  } catch {
    return null;
  }
}

/** Garbage collection between two scrapes, by kind. */
function gcDelta(before: Scrape | null, after: Scrape | null): Record<string, { ms: number; count: number }> | null {
  if (!before || !after) return null;
  const delta: Record<string, { ms: number; count: number }> = {};
  for (const [kind, entry] of Object.entries(after.gc)) {
    const count = entry.count - (before.gc[kind]?.count ?? 0);
    if (count > 0) delta[kind] = { ms: r2(entry.ms - (before.gc[kind]?.ms ?? 0)), count };
  }
  return delta;
}

const cpuPercent = (seconds: number, wallMs: number) => r2((seconds / (wallMs / 1000)) * 100);

// ---------------------------------------------------------------- the fan-out

export async function runSseFanout(options: SseFanoutOptions): Promise<SseFanoutResult> {
  const url = new URL(options.origin);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost')
    throw new Error('the fan-out only talks to 127.0.0.1');
  const processCount = Math.max(1, Math.min(options.clientProcesses ?? 2, options.subscribers || 1));
  const concurrency = options.connectConcurrency ?? 200;
  const seatIds = Array.from({ length: options.changes }, (_, i) => options.seatIdFor(i));
  if (new Set(seatIds).size !== seatIds.length) throw new Error('seatIdFor must give distinct seats');
  const tokens: string[] = [];
  for (let i = 0; i < options.changes; i += 1) tokens.push(await options.holdToken(i));
  const serverPid = options.serverPid;
  const serverCpu = () => (serverPid === undefined ? null : processCpuSeconds(serverPid));
  const parentCpu = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  };

  const procs = Array.from({ length: processCount }, startClient);
  const holdClient = new Client(options.origin, { keepAliveTimeout: 60_000 });
  try {
    const offsets = await Promise.all(procs.map(clockOffset));
    const rssBefore = rssKb(serverPid, 'VmRSS');

    // Connect: every client process opens its share, concurrency split between them.
    const shares = procs.map(
      (_, k) => Math.floor(options.subscribers / processCount) + (k < options.subscribers % processCount ? 1 : 0),
    );
    const beforeConnect = await scrape(options.origin); // resets the event loop delay figures
    const serverCpuConnect0 = serverCpu();
    const connectStarted = now();
    procs.forEach((proc, k) => {
      const start: ClientStart = {
        type: 'start',
        host: url.hostname,
        port: Number(url.port),
        path: `/v1/events/${encodeURIComponent(options.eventId)}/seats/stream`,
        count: shares[k]!,
        concurrency: Math.max(1, Math.round(concurrency / processCount)),
        seatIds,
        connectTimeoutMs: options.timeoutMs,
      };
      proc.child.send(start);
    });
    const readies = await Promise.all(
      procs.map((proc) => nextMessage<ClientReady>(proc, options.timeoutMs + 15_000, 'ready')),
    );
    const connectEnded = now();
    const serverCpuConnect1 = serverCpu();
    const rssAfterConnect = rssKb(serverPid, 'VmRSS');
    const gauge = await scrape(options.origin);
    const connected = readies.reduce((sum, ready) => sum + ready.connected, 0);
    const failures: Record<string, number> = {};
    for (const ready of readies) {
      for (const [reason, count] of Object.entries(ready.failures)) failures[reason] = (failures[reason] ?? 0) + count;
    }
    const firstConnect = Math.min(...readies.map((ready, k) => ready.firstConnectAt - offsets[k]!.offset));
    const lastSnapshot = Math.max(
      ...readies.map((ready, k) => (ready.connected > 0 ? ready.lastSnapshotAt - offsets[k]!.offset : -Infinity)),
    );
    const connectSamples: number[] = [];
    const snapshotSizes: number[] = [];
    let bytesToSnapshot = 0;
    for (const ready of readies) {
      ready.connectMs.forEach((ms, c) => {
        if (Number.isNaN(ms)) return;
        connectSamples.push(ms);
        snapshotSizes.push(ready.snapshotBytes[c]!);
        bytesToSnapshot += ready.bytesToSnapshot[c]!;
      });
    }

    // The holds, one at a time, gapMs apart.
    await holdClient.request({ method: 'GET', path: '/readyz' }).then((response) => response.body.text());
    const beforeDelivery = await scrape(options.origin); // resets the event loop delay figures
    const serverCpuDelivery0 = serverCpu();
    const parentCpuDelivery0 = parentCpu();
    const holds: (HoldRecord & { sentAt: number; answeredAt: number })[] = [];
    const holdsStarted = now();
    for (let i = 0; i < options.changes; i += 1) {
      const wait = holdsStarted + i * options.gapMs - now();
      if (wait > 0) await sleep(wait);
      const sentAt = now();
      let status = 0;
      try {
        const response = await holdClient.request({
          method: 'POST',
          path: `/v1/events/${encodeURIComponent(options.eventId)}/reservations`,
          headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ seat_ids: [seatIds[i]] }),
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        await response.body.text();
        status = response.statusCode;
      } catch {
        status = 0;
      }
      const answeredAt = now();
      holds.push({
        change: i,
        seatId: seatIds[i]!,
        status,
        sentAtMs: r2(sentAt - holdsStarted),
        holdMs: r2(answeredAt - sentAt),
        sentAt,
        answeredAt,
      });
    }
    const expected = holds.filter((hold) => hold.status === 201).map((hold) => hold.change);
    procs.forEach((proc) => proc.child.send({ type: 'finish', waitMs: options.timeoutMs, expected }));
    const dones = await Promise.all(
      procs.map((proc) => nextMessage<ClientDone>(proc, options.timeoutMs + 15_000, 'done')),
    );
    const deliveryEnded = now();
    const serverCpuDelivery1 = serverCpu();
    const parentCpuDelivery1 = parentCpu();
    const rssAfterDelivery = rssKb(serverPid, 'VmRSS');
    const peakRss = rssKb(serverPid, 'VmHWM');
    const afterDelivery = await scrape(options.origin);

    // Latencies, on this process's clock.
    const fromAnswer: number[] = [];
    const fromSend: number[] = [];
    const perChange = expected.map(() => ({ fromAnswer: [] as number[], fromSend: [] as number[], missed: 0 }));
    let missedPairs = 0;
    let subscribersMissing = 0;
    dones.forEach((done, k) => {
      const ready = readies[k]!;
      const offset = offsets[k]!.offset;
      for (let c = 0; c < ready.connectMs.length; c += 1) {
        if (Number.isNaN(ready.connectMs[c]!)) continue; // never connected
        let missing = false;
        expected.forEach((change, e) => {
          const arrival = done.arrivals[c * done.changes + change]!;
          if (Number.isNaN(arrival)) {
            missing = true;
            missedPairs += 1;
            perChange[e]!.missed += 1;
            return;
          }
          const at = arrival - offset;
          const hold = holds[change]!;
          const a = at - hold.answeredAt;
          const s = at - hold.sentAt;
          fromAnswer.push(a);
          fromSend.push(s);
          perChange[e]!.fromAnswer.push(a);
          perChange[e]!.fromSend.push(s);
        });
        if (missing) subscribersMissing += 1;
      }
    });
    const changeRows: ChangeDelivery[] = expected.map((change, e) => {
      const row = perChange[e]!;
      const answer = summarize(row.fromAnswer);
      return {
        change,
        seatId: seatIds[change]!,
        deliveredTo: row.fromAnswer.length,
        missedBy: row.missed,
        fromAnswer: { min: answer.min, p50: answer.p50, p99: answer.p99, max: answer.max },
        fromSendP99: summarize(row.fromSend).p99,
        spreadMs: r2(answer.max - answer.min),
      };
    });
    const deliverySummary = summarize(fromAnswer);
    const connectWallMs = lastSnapshot - firstConnect;
    const deliveryWallMs = deliveryEnded - holdsStarted;
    const clientCpuConnect = readies.reduce((sum, ready) => sum + ready.cpuS, 0);
    const clientCpuDelivery = dones.reduce((sum, done, k) => sum + done.cpuS - readies[k]!.cpuS, 0);
    const seatMessages = dones.reduce((sum, done) => sum + done.seatMessages, 0);
    const afterSnapshotBytes = dones.reduce((sum, done) => sum + done.bytesAfterSnapshot, 0);
    return {
      subscribers: {
        requested: options.subscribers,
        connected,
        failed: readies.reduce((sum, ready) => sum + ready.failed, 0),
        failures,
      },
      clientProcesses: processCount,
      connect: {
        concurrency,
        wallMs: r2(connectWallMs),
        perSecond: connected > 0 ? Math.round(connected / (connectWallMs / 1000)) : 0,
        perConnectionMs: summarize(connectSamples),
      },
      snapshot: {
        messageBytes: {
          min: snapshotSizes.length ? Math.min(...snapshotSizes) : NaN,
          max: snapshotSizes.length ? Math.max(...snapshotSizes) : NaN,
        },
        bytesToSnapshotMean: connected > 0 ? r2(bytesToSnapshot / connected) : NaN,
        versions: [...new Set(readies.flatMap((ready) => ready.snapshotVersions))],
      },
      holds: holds.map(({ sentAt: _sent, answeredAt: _answered, ...hold }) => hold),
      delivery: {
        fromAnswer: deliverySummary,
        fromSend: summarize(fromSend),
        perChange: changeRows,
        expectedPairs: connected * expected.length,
        missedPairs,
        subscribersMissingAChange: subscribersMissing,
        dropped: dones.reduce((sum, done) => sum + done.dropped, 0),
        extraSnapshots: dones.reduce((sum, done) => sum + done.extraSnapshots, 0),
        seatMessagesPerSubscriber: connected > 0 ? r2(seatMessages / connected) : 0,
        heartbeats: dones.reduce((sum, done) => sum + done.heartbeats, 0),
        bytesPerSubscriberAfterSnapshot: connected > 0 ? r2(afterSnapshotBytes / connected) : 0,
        clockOffsetsMs: offsets,
      },
      server: {
        pid: serverPid ?? null,
        rssMb: { beforeConnect: mb(rssBefore), afterConnect: mb(rssAfterConnect), afterDelivery: mb(rssAfterDelivery) },
        peakRssMb: mb(peakRss),
        rssKbPerSubscriber:
          rssBefore !== null && rssAfterConnect !== null && connected > 0
            ? r2((rssAfterConnect - rssBefore) / connected)
            : null,
        streamClientsGauge: gauge?.streamClients ?? null,
        cpuPercent: {
          connect:
            serverCpuConnect0 !== null && serverCpuConnect1 !== null
              ? cpuPercent(serverCpuConnect1 - serverCpuConnect0, connectEnded - connectStarted)
              : null,
          delivery:
            serverCpuDelivery0 !== null && serverCpuDelivery1 !== null
              ? cpuPercent(serverCpuDelivery1 - serverCpuDelivery0, deliveryWallMs)
              : null,
        },
        loopLagMs: {
          connect: { p99: gauge?.loopLagP99Ms ?? null, max: gauge?.loopLagMaxMs ?? null },
          delivery: { p99: afterDelivery?.loopLagP99Ms ?? null, max: afterDelivery?.loopLagMaxMs ?? null },
        },
        gc: { connect: gcDelta(beforeConnect, gauge), delivery: gcDelta(beforeDelivery, afterDelivery) },
      },
      client: {
        cpuPercent: {
          connect: cpuPercent(clientCpuConnect, connectEnded - connectStarted),
          delivery: cpuPercent(clientCpuDelivery, deliveryWallMs),
        },
        parentCpuPercentDelivery: cpuPercent(parentCpuDelivery1 - parentCpuDelivery0, deliveryWallMs),
      },
      targets: {
        subscribersMet: connected === options.subscribers,
        p99Under100ms: deliverySummary.count > 0 && deliverySummary.p99 < 100,
        noneMissed: missedPairs === 0 && expected.length === options.changes,
      },
    };
  } finally {
    await holdClient.close().catch(() => {});
    // Disconnecting ends a client process; one that has not exited a second later is killed.
    for (const proc of procs) if (proc.child.connected) proc.child.disconnect();
    const deadline = Date.now() + 1_000;
    while (procs.some((proc) => !proc.exited) && Date.now() < deadline) await sleep(20);
    for (const proc of procs) if (!proc.exited) proc.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- command line

/** What the command line prints (or writes to --out): one run, seat map documents and fan-out. */
export interface SseFanoutRun {
  command: string;
  startedAt: string;
  machine: { cpus: number; node: string };
  service: { env: Record<string, string>; aliveAfterRun: boolean; warnings: ServerLogEntry[] };
  event: { seats: number; createSeconds: number };
  documents: {
    /** GET /v1/events/{id}/availability, whole answer, bytes: every seat free, then with the scattered holds. */
    availabilityBytesAllAvailable: number;
    availabilityBytesWithScatteredHolds: number;
    availabilityDataBase64Chars: number;
    scatteredHolds: { requested: number; statuses: Record<string, number> };
    availabilityMs: { first: number; second: number };
    availability304: { status: number; bytes: number; ms: number };
    /** GET /v1/events/{id}/seats, the full list, after the fan-out. */
    seatsListBytes: number;
    seatsListMs: { first: number; second: number };
    seatsListStatus: number;
  };
  fanout: SseFanoutResult;
  targets: {
    subscribers10kOnOneProcess: boolean;
    deliveryP99Under100ms: boolean;
    noneMissed: boolean;
    snapshotUnder32KB: boolean;
  };
}

const bigEvent: SeatMapShape = { sections: 20, rowsPerSection: 50, seatsPerRow: 100 }; // 100,000 seats
const authSecret = 'sse-fanout-bench-secret-0123456789abcdefghijk';

interface CliOptions extends ChildOptions {
  subscribers: number;
  changes: number;
  gapMs: number;
  scatter: number;
  clientProcesses: number;
  concurrency: number;
  timeoutMs: number;
}

function parseArgs(argv: string[]): CliOptions {
  const quick = argv.includes('--quick');
  const defaults: CliOptions = {
    quick,
    subscribers: quick ? 1_000 : 10_000,
    changes: quick ? 5 : 20,
    gapMs: 500,
    scatter: 500,
    clientProcesses: 2,
    concurrency: 200,
    timeoutMs: 60_000,
    out: null,
  };
  const numeric: Record<string, [keyof CliOptions & string, number, number]> = {
    '--subscribers': ['subscribers', 0, Infinity],
    '--changes': ['changes', 0, Infinity],
    '--gap': ['gapMs', 0, Infinity],
    '--scatter': ['scatter', 0, Infinity],
    '--clients': ['clientProcesses', 0, Infinity],
    '--concurrency': ['concurrency', 0, Infinity],
    '--timeout': ['timeoutMs', 0, Infinity],
  };
  const options = parseChildArgs(
    argv,
    defaults,
    numeric,
    'npx tsx bench/sse-fanout.ts [--quick] [--subscribers N] [--changes N] [--gap ms] [--scatter N] ' +
      '[--clients N] [--concurrency N] [--timeout ms] [--out file.json]',
  );
  if (options.subscribers > 15_000) throw new Error('at most 15,000 subscribers (ulimit -n 20000 on this machine)');
  if (options.changes > 200) throw new Error('at most 200 changes');
  return options;
}

async function timedGet(origin: string, path: string, headers: Record<string, string> = {}) {
  const startedAt = performance.now();
  const response = await request(`${origin}${path}`, { headers, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const body = await response.body.arrayBuffer();
  return {
    status: response.statusCode,
    bytes: body.byteLength,
    ms: r2(performance.now() - startedAt),
    etag: response.headers.etag as string | undefined,
    body,
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const database = `bench_sse_${stamp.toLowerCase()}`;
  const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const redisUrl = process.env.BENCH_SSE_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
  const redisDb = new URL(redisUrl).pathname.replace('/', '');
  if (!/^\d+$/.test(redisDb) || redisDb === '0') {
    throw new Error(`BENCH_SSE_REDIS_URL must name a database index other than 0 (it is flushed): ${redisUrl}`);
  }
  const log = (message: string) => process.stderr.write(`[sse-fanout] ${message}\n`);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let server: ServerProcess | null = null;
  let databaseCreation: Promise<unknown> | null = null;
  let databaseCreated = false;
  // One clean-up, however many ask for it: a signal's, and main's `finally` (which the run's
  // failure, e.g. the stopped server refusing connections, reaches while the signal's runs).
  let cleaning: Promise<void> | null = null;
  const cleanup = () => (cleaning ??= cleanUp());
  const cleanUp = async () => {
    for (const child of liveClients) child.kill('SIGKILL');
    if (server) await server.stop().catch(() => {});
    await databaseCreation?.catch(() => {}); // a signal during CREATE DATABASE: drop it once it exists
    if (databaseCreated) {
      await dropDatabase(adminUrl, database).then(
        () => log(`dropped database ${database}`),
        (error: Error) => log(`could not drop database ${database}: ${error.message}`),
      );
    }
    await redis
      .flushdb()
      .then(() => log(`flushed Redis database ${redisDb}`))
      .catch((error: Error) => log(`could not flush Redis database ${redisDb}: ${error.message}`));
    redis.disconnect();
  };
  // A second signal exits at once: the exit handlers kill the service and the client processes.
  cleanUpOnStop(cleanup, log);

  try {
    await redis.connect();
    log(`Redis database ${redisDb} had ${await redis.dbsize()} keys; flushing it`);
    await redis.flushdb();
    databaseCreation = createDatabase(adminUrl, database).then(() => (databaseCreated = true));
    await databaseCreation;
    log(`created database ${database}`);
    const databaseUrl = new URL(adminUrl);
    databaseUrl.pathname = `/${database}`;
    server = await ServerProcess.start({
      root,
      env: {
        DATABASE_URL: databaseUrl.toString(),
        REDIS_URL: redisUrl,
        LOG_LEVEL: 'warn',
        AUTH_SECRET: authSecret,
        HOLD_TTL_SECONDS: '600',
        DEMO_EVENT: 'off',
        // The full list of the 100,000 seats is measured too (by default it is refused above 20,000).
        SEAT_LIST_SEATS_MAX: '200000',
        // e.g. "--max-semi-space-size=64", or "--import <a profiler preload>"
        ...(process.env.BENCH_SSE_SERVER_NODE_OPTIONS
          ? { NODE_OPTIONS: process.env.BENCH_SSE_SERVER_NODE_OPTIONS }
          : {}),
      },
    });
    log(`service up at ${server.origin} (pid ${server.pid})`);
    const origin = server.origin;

    // The 100,000-seat event.
    const organizer = await mintToken(authSecret, 'sse-organizer', 'organizer');
    const createdAt = performance.now();
    const created = await request(`${origin}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${organizer}`, 'content-type': 'application/json' },
      body: JSON.stringify(eventBody(bigEvent, { name: 'SSE fan-out', maxSeatsPerUser: 8 })),
      headersTimeout: 180_000,
      bodyTimeout: 180_000,
    });
    const createdText = await created.body.text();
    if (created.statusCode !== 201) throw new Error(`POST /v1/events answered ${created.statusCode}: ${createdText}`);
    const eventId = (JSON.parse(createdText) as { event_id: string }).event_id;
    const createSeconds = r2((performance.now() - createdAt) / 1000);
    log(`event ${eventId}: ${seatCountOf(bigEvent)} seats in ${createSeconds} s`);

    const availabilityEmpty = await timedGet(origin, `/v1/events/${eventId}/availability`);

    // Scattered holds, so the snapshot is not a run of zeros: distinct seeded seats, one per user.
    const seatCount = seatCountOf(bigEvent);
    const random = seededRandom(20_261_123);
    const taken = new Set<number>();
    const pick = () => {
      for (let attempt = 0; attempt < 1_000; attempt += 1) {
        const seatNo = Math.floor(random() * seatCount);
        if (!taken.has(seatNo)) {
          taken.add(seatNo);
          return seatNo;
        }
      }
      throw new Error('could not pick a free seat');
    };
    const scatterSeats = Array.from({ length: options.scatter }, pick);
    const changeSeats = Array.from({ length: options.changes }, pick);
    const scatterStatuses: Record<string, number> = {};
    const scatterStarted = performance.now();
    let nextScatter = 0;
    await Promise.all(
      Array.from({ length: Math.min(8, scatterSeats.length) }, async () => {
        while (nextScatter < scatterSeats.length) {
          const index = nextScatter;
          nextScatter += 1;
          const token = await mintToken(authSecret, `sse-scatter-${index}`, 'customer');
          const response = await request(`${origin}/v1/events/${eventId}/reservations`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ seat_ids: [seatId(scatterSeats[index]!)] }),
            headersTimeout: 30_000,
            bodyTimeout: 30_000,
          });
          await response.body.text();
          scatterStatuses[response.statusCode] = (scatterStatuses[response.statusCode] ?? 0) + 1;
        }
      }),
    );
    log(
      `${options.scatter} scattered holds in ${r2((performance.now() - scatterStarted) / 1000)} s: ${JSON.stringify(scatterStatuses)}`,
    );

    const availabilityHeld = await timedGet(origin, `/v1/events/${eventId}/availability`);
    const availabilityAgain = await timedGet(origin, `/v1/events/${eventId}/availability`);
    const notModified = await timedGet(origin, `/v1/events/${eventId}/availability`, {
      'if-none-match': availabilityHeld.etag ?? '',
    });
    const availabilityJson = JSON.parse(Buffer.from(availabilityHeld.body).toString('utf8')) as { data: string };
    log(`availability ${availabilityEmpty.bytes} B empty, ${availabilityHeld.bytes} B with ${options.scatter} held`);

    const userTokens = new Map<number, Promise<string>>();
    log(`fan-out: ${options.subscribers} subscribers, ${options.changes} changes ${options.gapMs} ms apart`);
    const fanout = await runSseFanout({
      origin,
      eventId,
      subscribers: options.subscribers,
      changes: options.changes,
      holdToken: (i) => {
        if (!userTokens.has(i)) userTokens.set(i, mintToken(authSecret, `sse-change-${i}`, 'customer'));
        return userTokens.get(i)!;
      },
      seatIdFor: (i) => seatId(changeSeats[i]!),
      gapMs: options.gapMs,
      connectConcurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
      clientProcesses: options.clientProcesses,
      serverPid: server.pid,
    });
    // The full list last: rendering 100,000 seats makes garbage the fan-out should not meet.
    const seatsFirst = await timedGet(origin, `/v1/events/${eventId}/seats`);
    const seatsSecond = await timedGet(origin, `/v1/events/${eventId}/seats`);
    log(`seats list ${seatsFirst.bytes} B in ${seatsFirst.ms} ms (again: ${seatsSecond.ms} ms)`);
    const serverAlive = server.alive;
    const serverLogs = server.logs.slice(0, 20);

    const result: SseFanoutRun = {
      command: `npx tsx bench/sse-fanout.ts ${process.argv.slice(2).join(' ')}`.trim(),
      startedAt: stamp,
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      service: {
        env: {
          REDIS_URL: redisUrl,
          SSE_MIN_INTERVAL_MS: '250 (default)',
          SSE_MAX_SUBSCRIBERS: '20000 (default)',
          SEAT_LIST_SEATS_MAX: '200000',
        },
        aliveAfterRun: serverAlive,
        warnings: serverLogs,
      },
      event: { seats: seatCount, createSeconds },
      documents: {
        availabilityBytesAllAvailable: availabilityEmpty.bytes,
        availabilityBytesWithScatteredHolds: availabilityHeld.bytes,
        availabilityDataBase64Chars: availabilityJson.data.length,
        scatteredHolds: { requested: options.scatter, statuses: scatterStatuses },
        availabilityMs: { first: availabilityHeld.ms, second: availabilityAgain.ms },
        availability304: { status: notModified.status, bytes: notModified.bytes, ms: notModified.ms },
        seatsListBytes: seatsFirst.bytes,
        seatsListMs: { first: seatsFirst.ms, second: seatsSecond.ms },
        seatsListStatus: seatsFirst.status,
      },
      fanout,
      targets: {
        subscribers10kOnOneProcess: fanout.subscribers.connected >= 10_000,
        deliveryP99Under100ms: fanout.targets.p99Under100ms,
        noneMissed: fanout.targets.noneMissed,
        snapshotUnder32KB: Math.max(fanout.snapshot.messageBytes.max, availabilityHeld.bytes) < 32 * 1024,
      },
    };
    writeResult(options.out, result, root, log);
  } finally {
    await cleanup();
  }
}

runAsScript(import.meta.url, 'sse-fanout', main);
