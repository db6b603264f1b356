// The write batcher on its own (fakes for the statement): batches by window and by size,
// answers each request with its own answer, and after a statement error (the transaction
// rolled back) runs each request alone, so one bad request fails only itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStatementError, WriteBatcher } from '../../src/adapters/postgres/write-batcher.ts';

const statementError = (message: string) => Object.assign(new Error(message), { code: '40P01', severity: 'ERROR' });

function recorder() {
  const batches: number[][] = [];
  const alone: number[] = [];
  return {
    batches,
    alone,
    runBatch: async (requests: number[]) => {
      batches.push(requests);
      return requests.map((n) => n * 10);
    },
    runOne: async (request: number) => {
      alone.push(request);
      return request * 10;
    },
  };
}

describe('write batcher', () => {
  test('when requests arrive within the window, then they go as one batch and each gets its own answer', async () => {
    const fake = recorder();
    const batcher = new WriteBatcher({ windowMs: 5, max: 100 }, fake.runBatch, fake.runOne);
    const answers = await Promise.all([1, 2, 3, 4].map((n) => batcher.submit(n)));
    assert.deepEqual(answers, [10, 20, 30, 40]);
    assert.deepEqual(fake.batches, [[1, 2, 3, 4]]);
    assert.deepEqual(batcher.stats, { batches: 1, requests: 4, fallbacks: 0 });
  });

  test('when a batch is full, then it goes at once without waiting for the window', async () => {
    const fake = recorder();
    const batcher = new WriteBatcher({ windowMs: 60_000, max: 3 }, fake.runBatch, fake.runOne);
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => batcher.submit(n)));
    assert.deepEqual(answers, [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(fake.batches, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  test('when max is 1, then every request runs alone at once', async () => {
    const fake = recorder();
    const batcher = new WriteBatcher({ windowMs: 60_000, max: 1 }, fake.runBatch, fake.runOne);
    assert.deepEqual(await Promise.all([1, 2].map((n) => batcher.submit(n))), [10, 20]);
    assert.deepEqual(fake.batches, []);
    assert.deepEqual(fake.alone, [1, 2]);
  });

  test('when the batch statement fails with a database error, then each request runs alone and only the bad one fails', async () => {
    const alone: number[] = [];
    const batcher = new WriteBatcher(
      { windowMs: 5, max: 10 },
      async () => {
        throw statementError('deadlock detected');
      },
      async (n: number) => {
        alone.push(n);
        if (n === 2) throw statementError('this one is bad');
        return n * 10;
      },
    );
    const settled = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)));
    assert.deepEqual(
      settled.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message)),
      [10, 'this one is bad', 30],
    );
    assert.deepEqual(alone.sort(), [1, 2, 3]);
    assert.equal(batcher.stats.fallbacks, 1);
  });

  test('when the connection is lost (the commit may have happened), then every request of the batch fails and none is run again', async () => {
    let runs = 0;
    const batcher = new WriteBatcher(
      { windowMs: 5, max: 10 },
      async () => {
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      },
      async (n: number) => {
        runs += 1;
        return n;
      },
    );
    const settled = await Promise.allSettled([1, 2].map((n) => batcher.submit(n)));
    assert.deepEqual(
      settled.map((result) => result.status),
      ['rejected', 'rejected'],
    );
    assert.equal(runs, 0);
  });

  test('when a batch is answered with the wrong number of answers, then every request fails', async () => {
    const batcher = new WriteBatcher(
      { windowMs: 5, max: 10 },
      async () => [1],
      async (n: number) => n,
    );
    const settled = await Promise.allSettled([1, 2].map((n) => batcher.submit(n)));
    assert.deepEqual(
      settled.map((result) => result.status),
      ['rejected', 'rejected'],
    );
  });

  test('a statement error carries a severity and a SQLSTATE; a socket error does not', () => {
    assert.equal(isStatementError(statementError('x')), true);
    assert.equal(isStatementError(Object.assign(new Error('x'), { code: 'EPIPE' })), false);
    assert.equal(isStatementError(null), false);
  });
});
