// A closed-loop load generator on undici: `connections` clients, each sending its next
// request as soon as the previous answer is read. It stops issuing at the deadline or at
// maxRequests, whichever comes first, and then waits for the requests still in flight, so
// every request sent is accounted for (an answer or an error). That exact accounting is
// what lets the benchmark compare the number of 201s with the rows in the database.
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

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const pool = new Pool(options.origin, {
    connections: options.connections,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 60_000,
  });
  const statuses: Record<string, number> = {};
  const non2xx: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const all: number[] = [];
  const byStatus = new Map<string, number[]>();
  let issued = 0;
  let stoppedBy: LoadResult['stopped_by'] = 'time';
  const startedAt = performance.now();
  const deadline = startedAt + options.durationMs;

  const client = async () => {
    for (;;) {
      if (options.shouldAbort?.()) {
        stoppedBy = 'abort';
        return;
      }
      if (issued >= options.maxRequests) {
        stoppedBy = 'count';
        return;
      }
      if (performance.now() >= deadline) return;
      const index = issued;
      issued += 1;
      const spec = options.makeRequest(index);
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
        const status = String(response.statusCode);
        statuses[status] = (statuses[status] ?? 0) + 1;
        all.push(latency);
        let list = byStatus.get(status);
        if (!list) byStatus.set(status, (list = []));
        list.push(latency);
        if (response.statusCode < 200 || response.statusCode > 299) {
          const key = `${status} ${problemCode(body)}`;
          non2xx[key] = (non2xx[key] ?? 0) + 1;
        }
        options.onResponse?.(index, response.statusCode, body);
      } catch (error) {
        const code = (error as { code?: string }).code ?? (error as Error).name ?? 'unknown';
        errors[code] = (errors[code] ?? 0) + 1;
        all.push(performance.now() - sentAt);
        // A server that is gone refuses at once: do not spin through the budget.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: options.connections }, client));
  } finally {
    await pool.close().catch(() => {});
  }
  const elapsed = (performance.now() - startedAt) / 1000;
  return {
    requests: issued,
    elapsed_s: round(elapsed, 3),
    stopped_by: stoppedBy,
    statuses,
    non_2xx: non2xx,
    errors,
    latency_ms: {
      all: summarize(all),
      by_status: Object.fromEntries([...byStatus].map(([status, list]) => [status, summarize(list)])),
    },
  };
}

export const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
