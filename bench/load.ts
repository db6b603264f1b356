// A closed-loop load generator on undici: `connections` clients, each sending its next
// request as soon as the previous answer is read. It stops issuing at the deadline or at
// maxRequests, whichever comes first, and then waits for the requests still in flight, so
// every request sent is accounted for (an answer or an error). That exact accounting is
// what lets the benchmark compare the number of 201s with the rows in the database.
// runFlow is the same loop over iterations of several requests (a hold, then its confirm).
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { summarize, type Summary } from './stats.ts';

export interface LoadRequest {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  origin: string;
  connections: number;
  durationMs: number;
  maxRequests: number;
  /** Builds request number `index` (0, 1, 2, … in issue order). */
  makeRequest: (index: number) => LoadRequest;
  /** Called with every answer's status and body (the body is read in full either way). */
  onResponse?: (index: number, status: number, body: string) => void;
  shouldAbort?: () => boolean;
  requestTimeoutMs?: number;
}

export interface LoadResult {
  /** Requests that got an answer or failed; equals the number issued. */
  requests: number;
  /** From the first request issued to the last answer read. */
  elapsed_s: number;
  stopped_by: 'time' | 'count' | 'abort';
  statuses: Record<string, number>;
  /** Non-2xx answers by "status code" (the problem document's code), e.g. "409 SEAT_UNAVAILABLE". */
  non_2xx: Record<string, number>;
  /** Transport failures (no HTTP answer) by error code. */
  errors: Record<string, number>;
  latency_ms: { all: Summary; by_status: Record<string, Summary> };
}

function problemCode(body: string): string {
  try {
    const parsed = JSON.parse(body) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : 'no-code';
  } catch {
    return 'non-json';
  }
}

/** Tallies the answers and failures of one kind of request. */
class Recorder {
  readonly statuses: Record<string, number> = {};
  readonly non2xx: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly all: number[] = [];
  private readonly byStatus = new Map<string, number[]>();

  answer(statusCode: number, body: string, latency: number) {
    const status = String(statusCode);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.all.push(latency);
    let list = this.byStatus.get(status);
    if (!list) this.byStatus.set(status, (list = []));
    list.push(latency);
    if (statusCode < 200 || statusCode > 299) {
      const key = `${status} ${problemCode(body)}`;
      this.non2xx[key] = (this.non2xx[key] ?? 0) + 1;
    }
  }

  /** Records a request with no HTTP answer; returns its error code. */
  failure(error: unknown, latency: number): string {
    const code = (error as { code?: string }).code ?? (error as Error).name ?? 'unknown';
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    this.all.push(latency);
    return code;
  }

  result(requests: number, elapsed: number, stoppedBy: LoadResult['stopped_by']): LoadResult {
    return {
      requests,
      elapsed_s: round(elapsed, 3),
      stopped_by: stoppedBy,
      statuses: this.statuses,
      non_2xx: this.non2xx,
      errors: this.errors,
      latency_ms: {
        all: summarize(this.all),
        by_status: Object.fromEntries([...this.byStatus].map(([status, list]) => [status, summarize(list)])),
      },
    };
  }
}

function newPool(origin: string, connections: number, timeoutMs: number) {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 60_000,
  });
}

/** A server that is gone refuses at once: a client pauses after a failure so it does not spin through the budget. */
const pauseAfterFailure = () => new Promise((resolve) => setTimeout(resolve, 10));

/** Closed loop of single requests: a one-step flow (see runFlow). */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const flow = await runFlow({
    origin: options.origin,
    connections: options.connections,
    durationMs: options.durationMs,
    maxIterations: options.maxRequests,
    steps: ['request'],
    makeRequest: (index) => options.makeRequest(index),
    onResponse: options.onResponse && ((index, _step, status, body) => options.onResponse!(index, status, body)),
    shouldAbort: options.shouldAbort,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  return flow.steps.request!;
}

// ---------------------------------------------------------------- flows

export interface FlowOptions {
  origin: string;
  connections: number;
  /** No iteration starts after this; one that has started runs to its end (each step bounded by the timeout). */
  durationMs: number;
  maxIterations: number;
  /** The names of the steps, in order, e.g. ['hold', 'confirm']. */
  steps: readonly string[];
  /**
   * Builds step `step` of iteration `index` (0, 1, 2, … in start order); `previous` is the
   * answer to the step before (null for step 0). Null ends the iteration here.
   */
  makeRequest: (index: number, step: number, previous: { status: number; body: string } | null) => LoadRequest | null;
  /** Called with every answer (the body is read in full either way). */
  onResponse?: (index: number, step: number, status: number, body: string) => void;
  /** Called when a request got no HTTP answer (its outcome is unknown); the iteration ends there. */
  onFailure?: (index: number, step: number, code: string) => void;
  shouldAbort?: () => boolean;
  requestTimeoutMs?: number;
}

export interface FlowResult {
  /** Iterations started. */
  iterations: number;
  /** Iterations whose every step was sent and answered 2xx. */
  completed: number;
  /** From the first request issued to the last answer read. */
  elapsed_s: number;
  stopped_by: LoadResult['stopped_by'];
  /** Per step: the requests of that step, as runLoad counts them (elapsed_s is the whole flow's). */
  steps: Record<string, LoadResult>;
}

/**
 * Closed loop over multi-request iterations: each of `connections` clients runs one
 * iteration after another (step 0, then step 1 on its answer, …), each request sent as
 * soon as the previous answer is read. Like runLoad it stops starting iterations at the
 * deadline or at maxIterations, then lets the started ones finish, so every request sent
 * is accounted for. On abort, started iterations stop before their next step.
 */
export async function runFlow(options: FlowOptions): Promise<FlowResult> {
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const pool = newPool(options.origin, options.connections, timeoutMs);
  const recorders = options.steps.map(() => new Recorder());
  const sent = options.steps.map(() => 0);
  let started = 0;
  let completed = 0;
  let stoppedBy: LoadResult['stopped_by'] = 'time';
  const startedAt = performance.now();
  const deadline = startedAt + options.durationMs;

  const iteration = async (index: number) => {
    let previous: { status: number; body: string } | null = null;
    for (let step = 0; step < options.steps.length; step += 1) {
      if (step > 0 && options.shouldAbort?.()) return;
      const spec = options.makeRequest(index, step, previous);
      if (!spec) return;
      sent[step] = sent[step]! + 1;
      const sentAt = performance.now();
      try {
        const response = await pool.request({
          method: spec.method,
          path: spec.path,
          headers: spec.headers,
          body: spec.body,
        });
        const body = await response.body.text();
        recorders[step]!.answer(response.statusCode, body, performance.now() - sentAt);
        options.onResponse?.(index, step, response.statusCode, body);
        previous = { status: response.statusCode, body };
      } catch (error) {
        const code = recorders[step]!.failure(error, performance.now() - sentAt);
        options.onFailure?.(index, step, code);
        await pauseAfterFailure();
        return;
      }
      if (previous.status < 200 || previous.status > 299) return;
    }
    completed += 1;
  };

  const client = async () => {
    for (;;) {
      if (options.shouldAbort?.()) {
        stoppedBy = 'abort';
        return;
      }
      if (started >= options.maxIterations) {
        stoppedBy = 'count';
        return;
      }
      if (performance.now() >= deadline) return;
      const index = started;
      started += 1;
      await iteration(index);
    }
  };

  try {
    await Promise.all(Array.from({ length: options.connections }, client));
  } finally {
    await pool.close().catch(() => {});
  }
  const elapsed = (performance.now() - startedAt) / 1000;
  return {
    iterations: started,
    completed,
    elapsed_s: round(elapsed, 3),
    stopped_by: stoppedBy,
    steps: Object.fromEntries(
      options.steps.map((name, step) => [name, recorders[step]!.result(sent[step]!, elapsed, stoppedBy)]),
    ),
  };
}

export const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
