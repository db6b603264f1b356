// Instants that come in as RFC 3339 text. The schema checks the shape; this checks that
// the text names an instant every layer can store and print: years 1970–9999 UTC (a
// leap second such as 23:59:60 or an offset that pushes past 9999 is refused).
import { DomainError } from './errors.ts';

export const instantMinMs = Date.UTC(1970, 0, 1);
export const instantMaxMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function isStorableInstant(ms: number): boolean {
  return Number.isFinite(ms) && ms >= instantMinMs && ms <= instantMaxMs;
}

/** Parses an RFC 3339 date-time into epoch milliseconds, or throws VALIDATION_FAILED naming the field. */
export function parseInstant(text: string, path: string): number {
  const ms = Date.parse(text);
  if (!isStorableInstant(ms)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `${path}: "${text.slice(0, 40)}" is not an instant between 1970 and 9999 UTC`,
      {
        errors: [{ path, message: 'must be an instant between 1970-01-01 and 9999-12-31 UTC' }],
      },
    );
  }
  return ms;
}
