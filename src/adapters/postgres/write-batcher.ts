// Group commit for the sale's writes: the holds (and, separately, each step of the
// bookings) that arrive within a short window are sent as one statement, one transaction,
// one commit, the way every fast database amortises its WAL flush. Each request still gets
// its own answer: the batch statement answers row by row (a refusal is an answer, never a
// failure of the others).
//
// A batch is sent when it is full (max requests) or its window has passed since its first
// request, whichever comes first. If the batch statement fails with an error PostgreSQL
// reported (it then rolled the whole transaction back: nothing of it was written), every
// request is run again on its own, so one bad request (a deadlock victim, a constraint the
// rules did not foresee) fails only itself. Any other failure (the connection lost: the
// commit may or may not have happened) fails every request of the batch, as it would have
// failed a request sent alone. With max 1 there is no batching: every request is sent at
// once, on its own.

import type { Executor } from './sql.ts';

export interface BatchSettings {
  /** How long the first request of a batch waits for others, in milliseconds. */
  windowMs: number;
  /** The most requests in one batch; 1 turns batching off. */
  max: number;
}

interface Waiting<Request, Answer> {
  request: Request;
  resolve: (answer: Answer) => void;
  reject: (error: unknown) => void;
}

/**
 * Whether PostgreSQL (or PGlite) answered the statement with an error (it carries a
 * severity and a SQLSTATE): its transaction was rolled back, nothing of it was written.
 */
export function isStatementError(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

export class WriteBatcher<Request, Answer> {
  private waiting: Waiting<Request, Answer>[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Batches sent and requests in them (for the metrics and the benchmark). */
  readonly stats = { batches: 0, requests: 0, fallbacks: 0 };

  constructor(
    private readonly settings: BatchSettings,
    /** Runs the requests as one statement; answers in the same order. */
    private readonly runBatch: (requests: Request[]) => Promise<Answer[]>,
    /** Runs one request alone. */
    private readonly runOne: (request: Request) => Promise<Answer>,
  ) {}

  submit(request: Request): Promise<Answer> {
    if (this.settings.max <= 1) {
      this.count(1);
      return this.runOne(request);
    }
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      if (this.waiting.length >= this.settings.max) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.settings.windowMs);
    });
  }

  private count(requests: number) {
    this.stats.batches += 1;
    this.stats.requests += requests;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    this.count(batch.length);
    if (batch.length === 1) {
      const only = batch[0]!;
      this.runOne(only.request).then(only.resolve, only.reject);
      return;
    }
    this.runBatch(batch.map((entry) => entry.request)).then(
      (answers) => {
        if (answers.length !== batch.length) {
          const error = new Error(`a batch of ${batch.length} was answered ${answers.length} times`);
          for (const entry of batch) entry.reject(error);
          return;
        }
        batch.forEach((entry, index) => entry.resolve(answers[index]!));
      },
      (error: unknown) => {
        if (!isStatementError(error)) {
          for (const entry of batch) entry.reject(error);
          return;
        }
        this.stats.fallbacks += 1;
        for (const entry of batch) this.runOne(entry.request).then(entry.resolve, entry.reject);
      },
    );
  }
}

/**
 * Runs requests through a batch function (`fn(jsonb)`: one element per request, in the
 * order given, each answered by rows carrying its out_index) and gives each request its
 * rows back. `order`, when given, is the order to run them in (a lock order).
 */
export async function queryBatch<Row>(
  db: Executor,
  fn: string,
  requests: object[],
  order?: (a: never, b: never) => number,
): Promise<Row[][]> {
  const sent = requests.map((request, index) => ({ request, index }));
  if (order) sent.sort((a, b) => order(a.request as never, b.request as never));
  const { rows } = await db.query<Row & { out_index: number }>(`SELECT * FROM ${fn}($1::jsonb)`, [
    JSON.stringify(sent.map((entry) => entry.request)),
  ]);
  const answers: Row[][] = requests.map(() => []);
  for (const row of rows) answers[sent[row.out_index]!.index]!.push(row);
  return answers;
}
