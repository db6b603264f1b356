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
  /** Called with every answer's status and body (the body is read in full either way) and its latency. */
  onResponse?: (index: number, status: number, body: string, latencyMs: number) => void;
  /** Files request `index` under a label too: the result then has the same tallies per label (by_label). */
  labelOf?: (index: number) => string;
  /**
   * Before the clock starts, open every connection with this request, sent once per connection at
   * once (the answers are not counted). Without it the connections open as the load begins, and a
   * server whose event loop is saturated from the first moment may leave some of them unaccepted
   * (Node accepts late while its loop is busy): their first requests then wait until the load ends.
   */
  preconnect?: LoadRequest;
  shouldAbort?: () => boolean;
  requestTimeoutMs?: number;
}

/** The tallies of the requests of one label (see LoadOptions.labelOf). */
export interface LabelResult {
  requests: number;
  statuses: Record<string, number>;
  non_2xx: Record<string, number>;
  errors: Record<string, number>;
  latency_ms: Summary;
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
  /** Per label, when the load labels its requests. */
  by_label?: Record<string, LabelResult>;
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
export class Recorder {
  readonly statuses: Record<string, number> = {};
  readonly non2xx: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly all: number[] = [];
  private readonly byStatus = new Map<string, number[]>();
  private readonly byLabel = new Map<string, Recorder>();

  /** The recorder of one label's requests. */
  label(name: string): Recorder {
    let recorder = this.byLabel.get(name);
    if (!recorder) this.byLabel.set(name, (recorder = new Recorder()));
    return recorder;
  }

  answer(statusCode: number, body: string, latency: number, label?: string) {
    if (label !== undefined) this.label(label).answer(statusCode, body, latency);
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
  failure(error: unknown, latency: number, label?: string): string {
    if (label !== undefined) this.label(label).failure(error, latency);
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
      ...(this.byLabel.size > 0
        ? {
            by_label: Object.fromEntries(
              [...this.byLabel].map(([name, recorder]): [string, LabelResult] => [
                name,
                {
                  requests: recorder.all.length,
                  statuses: recorder.statuses,
                  non_2xx: recorder.non2xx,
                  errors: recorder.errors,
                  latency_ms: summarize(recorder.all),
                },
              ]),
            ),
          }
        : {}),
    };
  }
}

export function newPool(origin: string, connections: number, timeoutMs: number) {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 60_000,
  });
}

/** A server that is gone refuses at once: a client pauses after a failure so it does not spin through the budget. */
export const pauseAfterFailure = () => new Promise((resolve) => setTimeout(resolve, 10));

/** Closed loop of single requests: a one-step flow (see runFlow). */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const flow = await runFlow({
    origin: options.origin,
    connections: options.connections,
    durationMs: options.durationMs,
    maxIterations: options.maxRequests,
    steps: ['request'],
    makeRequest: (index) => options.makeRequest(index),
    onResponse:
      options.onResponse &&
      ((index, _step, status, body, latencyMs) => options.onResponse!(index, status, body, latencyMs)),
    labelOf: options.labelOf && ((index) => options.labelOf!(index)),
    preconnect: options.preconnect,
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
  /** Called with every answer (the body is read in full either way) and its latency. */
  onResponse?: (index: number, step: number, status: number, body: string, latencyMs: number) => void;
  /** Files step `step` of iteration `index` under a label too (see LoadOptions.labelOf). */
  labelOf?: (index: number, step: number) => string;
  /** See LoadOptions.preconnect. */
  preconnect?: LoadRequest;
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
  let startedAt = performance.now();
  let deadline = startedAt + options.durationMs;

  const iteration = async (index: number) => {
    let previous: { status: number; body: string } | null = null;
    for (let step = 0; step < options.steps.length; step += 1) {
      if (step > 0 && options.shouldAbort?.()) return;
      const spec = options.makeRequest(index, step, previous);
      if (!spec) return;
      sent[step] = sent[step]! + 1;
      const label = options.labelOf?.(index, step);
      const sentAt = performance.now();
      try {
        const response = await pool.request({
          method: spec.method,
          path: spec.path,
          headers: spec.headers,
          body: spec.body,
        });
        const body = await response.body.text();
        const latency = performance.now() - sentAt;
        recorders[step]!.answer(response.statusCode, body, latency, label);
        options.onResponse?.(index, step, response.statusCode, body, latency);
        previous = { status: response.statusCode, body };
      } catch (error) {
        const code = recorders[step]!.failure(error, performance.now() - sentAt, label);
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
    if (options.preconnect) {
      // Every connection open (and accepted) before the clock starts; these answers are not counted.
      const spec = options.preconnect;
      await Promise.all(
        Array.from({ length: options.connections }, async () => {
          const response = await pool.request({ method: spec.method, path: spec.path, headers: spec.headers });
          await response.body.text();
        }),
      );
      startedAt = performance.now();
      deadline = startedAt + options.durationMs;
    }
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

// ---------------------------------------------------------------- open loop

export interface OpenLoopOptions {
  origin: string;
  /** Requests per second: request i is due at start + i / ratePerS, whatever the answers do. */
  ratePerS: number;
  /** Requests are scheduled in [0, durationMs); at most ceil(ratePerS × durationMs / 1000) of them. */
  durationMs: number;
  /** The most requests in flight at once (also the connection count); a due request waits for a free slot. */
  maxInFlight: number;
  /**
   * A request still waiting for a slot this long after the schedule ended is never sent
   * (counted as unsent): bounds the run's time when the server cannot keep up.
   */
  drainMs?: number;
  makeRequest: (index: number) => LoadRequest;
  onResponse?: (index: number, status: number, body: string) => void;
  /** Called when a request got no HTTP answer (its outcome is unknown). */
  onFailure?: (index: number, code: string) => void;
  shouldAbort?: () => boolean;
  requestTimeoutMs?: number;
}

export interface OpenLoopResult extends LoadResult {
  target_rate_per_s: number;
  /** Requests scheduled in the window (sent + unsent). */
  scheduled: number;
  /** Scheduled but never sent: no free slot until drainMs after the schedule ended, or aborted. */
  unsent: number;
  /** Answered (or failed) requests per second of the window, first due time to last answer. */
  achieved_rate_per_s: number;
  /** How late each request was actually sent after its due time (the generator's own delay plus waiting for a slot). */
  send_lag_ms: Summary;
  max_in_flight: number;
  /** The most requests that were due but waiting for a slot at once. */
  max_backlog: number;
  /** Latency of the requests due in each second of the schedule (second 0, 1, …): where the slow ones were. */
  by_second: { second: number; requests: number; p50: number; p99: number; max: number }[];
}

/**
 * Open loop (fixed arrival rate): request i is due at start + i / ratePerS and is sent then,
 * whether or not earlier ones have been answered, so a slow server meets a growing queue
 * instead of a slower client. Latency is measured from the due time, not from the actual
 * send, so time spent waiting for a slot (or for the generator's timer) counts: no
 * coordinated omission. Bounded: at most maxInFlight in flight, at most ratePerS × duration
 * requests, nothing sent later than drainMs after the last due time, each request bounded
 * by its timeout; it returns once every request sent has been answered or failed.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const total = Math.max(1, Math.ceil((options.ratePerS * options.durationMs) / 1000));
  const intervalMs = 1000 / options.ratePerS;
  const drainMs = options.drainMs ?? 5_000;
  const pool = newPool(options.origin, options.maxInFlight, timeoutMs);
  const recorder = new Recorder();
  const sendLags: number[] = [];
  const perSecond: number[][] = []; // latencies by the second of their due time
  let next = 0; // the next request index to send
  let sent = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let maxBacklog = 0;
  let stoppedBy: LoadResult['stopped_by'] = 'time';
  const startedAt = performance.now();
  const dueAt = (index: number) => startedAt + index * intervalMs;
  const pending = new Set<Promise<void>>();
  let wake: (() => void) | null = null;

  const send = async (index: number) => {
    const due = dueAt(index);
    const second = Math.floor((due - startedAt) / 1000);
    const latencies = (perSecond[second] ??= []);
    const spec = options.makeRequest(index);
    sendLags.push(performance.now() - due);
    try {
      const response = await pool.request({
        method: spec.method,
        path: spec.path,
        headers: spec.headers,
        body: spec.body,
      });
      const body = await response.body.text();
      const latency = performance.now() - due;
      recorder.answer(response.statusCode, body, latency);
      latencies.push(latency);
      options.onResponse?.(index, response.statusCode, body);
    } catch (error) {
      const latency = performance.now() - due;
      latencies.push(latency);
      const code = recorder.failure(error, latency);
      options.onFailure?.(index, code);
    } finally {
      inFlight -= 1;
      wake?.();
    }
  };

  try {
    while (next < total) {
      if (options.shouldAbort?.()) {
        stoppedBy = 'abort';
        break;
      }
      const now = performance.now();
      if (now > dueAt(total - 1) + drainMs) break; // the server cannot keep up: stop sending
      // Send everything that is due, as far as the in-flight cap allows.
      while (next < total && dueAt(next) <= now && inFlight < options.maxInFlight) {
        inFlight += 1;
        sent += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const promise = send(next);
        pending.add(promise);
        void promise.finally(() => pending.delete(promise));
        next += 1;
      }
      if (next >= total) break;
      // The next request is due but every slot is taken: wait for an answer.
      const blocked = dueAt(next) <= now;
      if (blocked) {
        const due = Math.min(total, Math.floor((now - startedAt) / intervalMs) + 1);
        maxBacklog = Math.max(maxBacklog, due - next);
      }
      // Sleep until the next due time, or until an answer frees a slot when some are overdue.
      const waitMs = blocked ? drainMs : Math.max(0, dueAt(next) - performance.now());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, waitMs);
        wake = blocked
          ? () => {
              clearTimeout(timer);
              wake = null;
              resolve();
            }
          : null;
      });
    }
    await Promise.all(pending);
  } finally {
    await pool.close().catch(() => {});
  }
  const elapsed = (performance.now() - startedAt) / 1000;
  const result = recorder.result(sent, elapsed, stoppedBy);
  return {
    ...result,
    target_rate_per_s: options.ratePerS,
    scheduled: total,
    unsent: total - sent,
    achieved_rate_per_s: round(sent / elapsed, 1),
    send_lag_ms: summarize(sendLags),
    max_in_flight: maxInFlight,
    max_backlog: maxBacklog,
    by_second: [...perSecond.entries()].map(([second, latencies = []]) => {
      const summary = summarize(latencies);
      return { second, requests: summary.count, p50: summary.p50, p99: summary.p99, max: summary.max };
    }),
  };
}
