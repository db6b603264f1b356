// The service under test, as a child process: `node --import tsx src/http/server.ts` (or
// another entry script, e.g. bench/ceiling-server.ts).
// Every started server is remembered so it is killed however the benchmark ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

// Every variable src/config.ts reads: the child sees only the values the benchmark sets.
const configKeys = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATABASE_POOL_MAX',
  'DATA_DIR',
  'REDIS_URL',
  'REDIS_CLUSTER',
  'REDIS_KEY_PREFIX',
  'REDIS_COMMAND_TIMEOUT_MS',
  'HOLD_GATE',
  'HOLD_GATE_PENDING_MS',
  'SEAT_CHANGE_LOG_MAX',
  'CATALOG_CACHE_TTL_MS',
  'SSE_MAX_SUBSCRIBERS',
  'SSE_MIN_INTERVAL_MS',
  'SSE_HEARTBEAT_MS',
  'SSE_MAX_BUFFERED_BYTES',
  'AUTH_SECRET',
  'AUTH_JWKS_URL',
  'DEMO_MODE',
  'AUTH_ISSUER',
  'AUTH_AUDIENCE',
  'AUTH_TOKEN_MAX_AGE_SECONDS',
  'AUTH_CLOCK_SKEW_SECONDS',
  'HOLD_TTL_SECONDS',
  'PAYMENT_PROVIDER',
  'WORKERS',
  'LOG_LEVEL',
  'BODY_LIMIT_BYTES',
  'EVENT_BODY_LIMIT_BYTES',
  'SEATS_PER_EVENT_MAX',
  'SECTIONS_PER_EVENT_MAX',
  'ROWS_PER_SECTION_MAX',
  'SEATS_PER_ROW_MAX',
  'SEATS_PER_HOLD_MAX',
  'SWEEP_INTERVAL_MS',
  'SWEEP_BATCH_SIZE',
  'IDEMPOTENCY_IN_FLIGHT_STALE_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'DEMO_EVENT',
  'IDEMPOTENCY_KEY_RETENTION_HOURS',
  'ADMISSION_SECRET',
  'ALTCHA_HMAC_KEY',
  'ALTCHA_EXPIRES_SECONDS',
  'ALTCHA_MAX_NUMBER',
  'ADMIT_TICK_MS',
  'ADMIT_BATCH_MAX',
  'QUEUE_STREAM_INTERVAL_MS',
  'RATE_LIMITS',
  'RATE_LIMIT_SCOPE',
  'RATE_LIMIT_USER_PER_SECOND',
  'RATE_LIMIT_USER_BURST',
  'RATE_LIMIT_IP_PER_SECOND',
  'RATE_LIMIT_IP_BURST',
  'IN_FLIGHT_MAX',
  'TRUST_PROXY',
  'CONNECTIONS_PER_ADDRESS_MAX',
  'HEADERS_TIMEOUT_MS',
  'REQUEST_TIMEOUT_MS',
  'CONNECTIONS_CHECKING_INTERVAL_MS',
  'SSE_STREAMS_PER_ADDRESS_MAX',
  'SSE_STREAMS_PER_USER_MAX',
  'SEAT_LIST_SEATS_MAX',
  'SEAT_LIST_MAX_AGE_MS',
  'RATE_LIMIT_SEAT_LIST_PER_SECOND',
  'RATE_LIMIT_SEAT_LIST_BURST',
  'CEILING_KEY_PREFIX', // bench/ceiling-server.ts
];

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Kills every server still running, at once (used when the benchmark is interrupted). */
export function killAllServers() {
  for (const child of live) child.kill('SIGKILL');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface ServerLogEntry {
  scenario: string;
  level: number;
  msg: string;
  err?: string;
}

const clockTicksPerSecond = 100; // USER_HZ on Linux

/** user + system CPU seconds of a process, from /proc (null where there is no /proc). */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  } catch {
    return null;
  }
}

/**
 * CPU seconds per process of the PostgreSQL processes working for this run: the backends
 * connected to `database` plus the shared auxiliary processes (WAL writer, checkpointer, …).
 * Backends of other databases on the same server are left out.
 */
export function postgresCpuSnapshot(database: string): Map<number, number> | null {
  const snapshot = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let title: string;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    const isBackend = /\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(title);
    if (isBackend && !title.includes(` ${database} `)) continue;
    const seconds = processCpuSeconds(Number(entry));
    if (seconds !== null) snapshot.set(Number(entry), seconds);
  }
  return snapshot.size > 0 ? snapshot : null;
}

/**
 * CPU seconds used between two per-process snapshots (PostgreSQL's, or a server's process
 * tree) by the processes alive at the second: one started meanwhile counts whole, one that
 * exited meanwhile is lost.
 */
export function cpuSecondsDelta(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (!before || !after) return null;
  let total = 0;
  for (const [pid, seconds] of after) total += Math.max(0, seconds - (before.get(pid) ?? 0));
  return total;
}

/**
 * CPU seconds per process of `pid` and its descendants: with WORKERS > 1 the service is a
 * node:cluster primary that does little, and its workers (its children) do the work.
 */
export function processTreeCpuSnapshot(pid: number): Map<number, number> | null {
  const own = processCpuSeconds(pid);
  if (own === null) return null;
  const snapshot = new Map([[pid, own]]);
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      const list = children.get(parent) ?? [];
      list.push(Number(entry));
      children.set(parent, list);
    } catch {
      // gone meanwhile
    }
  }
  const pending = [...(children.get(pid) ?? [])];
  while (pending.length > 0) {
    const child = pending.pop()!;
    const seconds = processCpuSeconds(child);
    if (seconds === null || snapshot.has(child)) continue;
    snapshot.set(child, seconds);
    pending.push(...(children.get(child) ?? []));
  }
  return snapshot;
}

/** CPU seconds of the machine's redis-server processes, summed (null when there is none or no /proc). */
export function redisCpuSeconds(): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  let total: number | null = null;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'redis-server') continue;
    } catch {
      continue;
    }
    const seconds = processCpuSeconds(Number(entry));
    if (seconds !== null) total = (total ?? 0) + seconds;
  }
  return total;
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / clockTicksPerSecond;
  } catch {
    return null;
  }
}

export interface ServerMetrics {
  /** Cumulative: every POST /v1/events/{id}/reservations so far. */
  holdSecondsSum: number;
  holdCount: number;
  /** Cumulative: every POST /v1/reservations/{id}/confirm so far. */
  confirmSecondsSum: number;
  confirmCount: number;
  /** Cumulative, every route: request seconds and count by "METHOD route", e.g. "GET /v1/events". */
  routes: Record<string, { sum: number; count: number }>;
  /** Event loop delay since the previous scrape (prom-client resets it on every scrape). */
  loopLagMeanS: number;
  loopLagP99S: number;
  loopLagMaxS: number;
}

export interface StartOptions {
  root: string;
  env: Record<string, string>;
  /** The script to run, relative to root (default src/http/server.ts); it must serve GET /readyz. */
  entry?: string;
  /**
   * The service's WORKERS (default 1): with more, start() also waits until every worker
   * answers, so that no connection is dealt to the first worker alone.
   */
  workers?: number;
  readyTimeoutMs?: number;
}

export class ServerProcess {
  /** Label the log lines written from now on are filed under. */
  scenario = 'startup';
  readonly logs: ServerLogEntry[] = [];
  private readonly tail: string[] = [];
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly origin: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(child);
        resolve();
      });
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.record(line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }

  static async start(options: StartOptions): Promise<ServerProcess> {
    const port = await freePort();
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !configKeys.includes(key)) env[key] = value;
    }
    // All load comes from 127.0.0.1 (one address): per-address limits would measure themselves.
    const oneAddress = { RATE_LIMITS: 'off', CONNECTIONS_PER_ADDRESS_MAX: '0', SSE_STREAMS_PER_ADDRESS_MAX: '0' };
    const workers = options.workers ?? 1;
    Object.assign(env, oneAddress, options.env, { PORT: String(port), HOST: '127.0.0.1' });
    if (workers > 1) env.WORKERS = String(workers);
    // BENCH_SERVER_NODE_ARGS: node flags for the server under test, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
    // (written when it stops) to see where its time goes.
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', options.entry ?? 'src/http/server.ts'], {
      cwd: options.root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches the benchmark only, which stops the load
      // first and then the server (a server stopping under load would skew the figures).
      detached: true,
    });
    live.add(child);
    const server = new ServerProcess(child, `http://127.0.0.1:${port}`);
    try {
      await server.waitReady(options.readyTimeoutMs ?? 60_000);
      if (workers > 1) await server.waitForWorkers(workers, 30_000);
    } catch (error) {
      await server.stop();
      throw error;
    }
    server.scenario = 'idle';
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** CPU seconds of the server and its descendants (the workers when WORKERS > 1), per process. */
  cpuSnapshot(): Map<number, number> | null {
    return this.child.pid === undefined ? null : processTreeCpuSnapshot(this.child.pid);
  }

  /** CPU seconds of the server and its descendants (the workers when WORKERS > 1), summed. */
  cpuSeconds(): number | null {
    const snapshot = this.cpuSnapshot();
    return snapshot === null ? null : [...snapshot.values()].reduce((sum, seconds) => sum + seconds, 0);
  }

  /** The last lines the server wrote, for error messages. */
  recentOutput(lines = 30): string {
    return this.tail.slice(-lines).join('\n');
  }

  private record(line: string) {
    this.tail.push(line);
    if (this.tail.length > 200) this.tail.shift();
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string; code?: string } };
      if (typeof entry.level === 'number' && entry.level >= 40) {
        this.logs.push({
          scenario: this.scenario,
          level: entry.level,
          msg: entry.msg ?? '',
          err: entry.err ? [entry.err.code, entry.err.message].filter(Boolean).join(' ') : undefined,
        });
      }
    } catch {
      // Not pino JSON: the welcome banner, or a crash trace (kept in the tail).
      if (/error|exception|fatal/i.test(line)) this.logs.push({ scenario: this.scenario, level: 50, msg: line });
    }
  }

  private async waitReady(timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive) {
        throw new Error(`server exited during startup (${JSON.stringify(this.exit)}):\n${this.recentOutput()}`);
      }
      try {
        const response = await request(`${this.origin}/readyz`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
        await response.body.text();
        if (response.statusCode === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`server not ready after ${timeoutMs} ms:\n${this.recentOutput()}`);
  }

  /**
   * /readyz answers once one worker listens. New connections are dealt round robin among the
   * workers that listen, and each worker counts the GET /metrics it answered itself: a scrape
   * on a new connection that counts none before it came from a worker not seen yet.
   */
  private async waitForWorkers(workers: number, timeoutMs: number) {
    let seen = 0;
    const deadline = Date.now() + timeoutMs;
    while (seen < workers && Date.now() < deadline) {
      if (!this.alive) throw new Error(`server exited during startup (${JSON.stringify(this.exit)})`);
      try {
        const response = await request(`${this.origin}/metrics`, {
          reset: true,
          headersTimeout: 5_000,
          bodyTimeout: 5_000,
        });
        const text = await response.body.text();
        const earlier = [...text.matchAll(/^http_request_duration_seconds_count\{([^}]*)\} (\S+)$/gm)]
          .filter(([, labels]) => labels!.includes('route="/metrics"'))
          .reduce((sum, [, , count]) => sum + Number(count), 0);
        if (response.statusCode === 200 && earlier === 0) seen += 1;
      } catch {
        // a worker restarting: try again
      }
      if (seen < workers) await sleep(100);
    }
    if (seen < workers) throw new Error(`only ${seen} of ${workers} workers answered within ${timeoutMs} ms`);
  }

  /** SIGTERM (graceful: the server closes its database), SIGKILL if that takes too long. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** The server's own view from GET /metrics: hold and confirm request durations, event loop delay. */
  async metrics(): Promise<ServerMetrics | null> {
    try {
      const response = await request(`${this.origin}/metrics`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
      const text = await response.body.text();
      if (response.statusCode !== 200) return null;
      let sum = 0;
      let count = 0;
      let confirmSum = 0;
      let confirmCount = 0;
      const gauges: Record<string, number> = {};
      const routes: Record<string, { sum: number; count: number }> = {};
      for (const line of text.split('\n')) {
        if (line.startsWith('#')) continue;
        const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
        if (!match) continue;
        const [, name, labels = '', value] = match;
        if (name === 'http_request_duration_seconds_sum' || name === 'http_request_duration_seconds_count') {
          const method = /method="([^"]*)"/.exec(labels)?.[1];
          const route = /route="([^"]*)"/.exec(labels)?.[1];
          if (method && route) {
            const entry = (routes[`${method} ${route}`] ??= { sum: 0, count: 0 });
            if (name === 'http_request_duration_seconds_sum') entry.sum += Number(value);
            else entry.count += Number(value);
          }
        }
        if (labels.includes('route="/v1/events/:event_id/reservations"') && labels.includes('method="POST"')) {
          if (name === 'http_request_duration_seconds_sum') sum += Number(value);
          if (name === 'http_request_duration_seconds_count') count += Number(value);
        }
        if (labels.includes('route="/v1/reservations/:reservation_id/confirm"') && labels.includes('method="POST"')) {
          if (name === 'http_request_duration_seconds_sum') confirmSum += Number(value);
          if (name === 'http_request_duration_seconds_count') confirmCount += Number(value);
        }
        if (name!.startsWith('nodejs_eventloop_lag_')) gauges[name!] = Number(value);
      }
      return {
        holdSecondsSum: sum,
        holdCount: count,
        confirmSecondsSum: confirmSum,
        confirmCount,
        routes,
        loopLagMeanS: gauges.nodejs_eventloop_lag_mean_seconds ?? NaN,
        loopLagP99S: gauges.nodejs_eventloop_lag_p99_seconds ?? NaN,
        loopLagMaxS: gauges.nodejs_eventloop_lag_max_seconds ?? NaN,
      };
    } catch {
      return null;
    }
  }

  exitStatus() {
    return this.exit;
  }
}

/**
 * How busy the machine is before a scenario adds anything: busy CPU of all cores over `ms`
 * (% of one core; null without /proc) and the 1-minute load average. Others' work skews every figure.
 */
export async function machineBusyBefore(ms = 1_000): Promise<{ busyPct: number | null; loadAverage: number }> {
  const before = machineCpuSeconds();
  await sleep(ms);
  const after = machineCpuSeconds();
  return {
    busyPct: before === null || after === null ? null : Math.round(((after - before) / (ms / 1000)) * 100),
    loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export interface CpuFigures {
  server: number | null;
  postgres: number | null;
  /** The redis-server process(es) of the machine, for the setups that use Redis (null otherwise). */
  redis: number | null;
  bench_client: number;
  machine: number | null;
  /** Whatever else ran on the machine meanwhile (other jobs skew every figure). */
  other: number | null;
}

const percentOfCore = (before: number | null, after: number | null, seconds: number): number | null =>
  before === null || after === null || seconds <= 0 ? null : Math.round(((after - before) / seconds) * 100);

/**
 * CPU over a measured stretch, as % of one core (2 cores = 200%): the server process with its
 * workers, the PostgreSQL processes of `database`, the machine's redis-server, this process,
 * the machine.
 */
export function startCpuMeter(server: ServerProcess | null, database: string | null, redis: boolean) {
  const server0 = server?.cpuSnapshot() ?? null;
  const postgres0 = database ? postgresCpuSnapshot(database) : null;
  const redis0 = redis ? redisCpuSeconds() : null;
  const machine0 = machineCpuSeconds();
  const client0 = process.cpuUsage();
  return (elapsedS: number): CpuFigures => {
    const client = process.cpuUsage(client0);
    const postgresSeconds = cpuSecondsDelta(postgres0, database ? postgresCpuSnapshot(database) : null);
    const figures = {
      server: percentOfCore(0, cpuSecondsDelta(server0, server?.cpuSnapshot() ?? null), elapsedS),
      postgres: percentOfCore(0, postgresSeconds, elapsedS),
      redis: percentOfCore(redis0, redis ? redisCpuSeconds() : null, elapsedS),
      bench_client: Math.round(((client.user + client.system) / 1e6 / elapsedS) * 100),
      machine: percentOfCore(machine0, machineCpuSeconds(), elapsedS),
    };
    const accounted = (figures.server ?? 0) + (figures.postgres ?? 0) + (figures.redis ?? 0) + figures.bench_client;
    return { ...figures, other: figures.machine === null ? null : Math.max(0, figures.machine - accounted) };
  };
}
