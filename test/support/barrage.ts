// The bad-input contract of test/http/bad-input.test.ts, for other barrages to share: a
// refused request is answered with one of the statuses its row expects, as a complete
// RFC 9457 problem document (never a 5xx, never a 2xx for invalid input). Every row of a
// table runs even when an earlier one fails; the failure lists each row that broke the
// contract, by name.
import assert from 'node:assert/strict';

export interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

export interface Row {
  name: string;
  /** The statuses that are right for this row. */
  expect: number | readonly number[];
  /** The problem code, when only one is right. */
  code?: string;
}

export function describeAnswer(label: string, answer: Answer): string {
  const body = answer.body.length > 300 ? `${answer.body.slice(0, 300)}…` : answer.body;
  return `${label} → ${answer.statusCode} ${String(answer.headers['content-type'])} ${body}`;
}

/** An expected status; when it is an error, a complete problem document. */
export function assertAnswer(label: string, row: Row, answer: Answer): void {
  const described = describeAnswer(label, answer);
  const allowed = [row.expect].flat();
  assert.ok(answer.statusCode < 500, `5xx for bad input: ${described}`);
  assert.ok(allowed.includes(answer.statusCode), `expected ${allowed.join(' or ')}: ${described}`);
  if (answer.statusCode < 400) return;
  assert.match(
    String(answer.headers['content-type']),
    /^application\/problem\+json(;|$)/,
    `not a problem document: ${described}`,
  );
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(answer.body);
  } catch {
    assert.fail(`problem body is not JSON: ${described}`);
  }
  for (const member of ['type', 'title', 'detail', 'code']) {
    assert.equal(typeof problem[member], 'string', `problem member "${member}" missing: ${described}`);
  }
  assert.equal(problem.status, answer.statusCode, `problem "status" differs from the HTTP status: ${described}`);
  if (row.code) assert.equal(problem.code, row.code, `problem code: ${described}`);
}

/** Sends every row and checks its answer; fails once at the end naming every row that broke the contract. */
export async function barrage<R extends Row>(
  rows: readonly R[],
  send: (row: R) => Promise<Answer>,
  label: (row: R) => string = (row) => row.name,
): Promise<void> {
  assert.ok(rows.length > 0, 'an empty barrage proves nothing');
  const failures: string[] = [];
  for (const row of rows) {
    try {
      assertAnswer(label(row), row, await send(row));
    } catch (error) {
      failures.push(error instanceof Error ? error.message : `${row.name}: ${String(error)}`);
    }
  }
  if (failures.length > 0) {
    assert.fail(`${failures.length} of ${rows.length} rows broke the contract:\n  ${failures.join('\n  ')}`);
  }
}
