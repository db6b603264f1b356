// What every PostgreSQL adapter shares: instants as parameters, numbered parameters for
// built queries, and the one place a constraint name becomes a business error.
import type { SqlExecutor } from './database.ts';

/** An instant (epoch milliseconds) as a timestamptz parameter. */
export const ts = (ms: number) => new Date(ms);

/** A connection or a transaction: anything that runs a query. */
export type Executor = Pick<SqlExecutor, 'query'>;

/** Numbered parameters ($1, $2, …) for a query built from parts. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const candidate = error as { code?: string; constraint?: string; message?: string };
  return (
    candidate?.code === '23505' && (candidate.constraint === constraint || !!candidate.message?.includes(constraint))
  );
}
