// Shared schema pieces. Every string that reaches PostgreSQL refuses control characters
// (a NUL byte cannot be stored in text) and unpaired UTF-16 surrogates (they cannot be
// stored as sent), so bad input is a 400, never a 500 or a silently changed value.
// Ajv compiles patterns with the "u" flag, where [\uD800-\uDFFF] matches only lone halves.
import { Type, type TSchema } from 'typebox';

export const textPattern = '^[^\\u0000-\\u001f\\u007f\\uD800-\\uDFFF]*$';

export const Text = (minLength: number, maxLength: number, options: Record<string, unknown> = {}) =>
  Type.String({ minLength, maxLength, pattern: textPattern, ...options });

export const DateTime = (description?: string) => Type.String({ format: 'date-time', maxLength: 40, description });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details with a stable code' },
);

/** Response schemas for a route: its successes plus problem documents for every failure. */
export function responses<T extends Record<number, TSchema>>(success: T) {
  return { ...success, '4xx': Problem, '5xx': Problem };
}

export const Seat = Type.Object({
  seat_id: Type.String(),
  section: Type.String(),
  row: Type.String(),
  number: Type.Integer(),
  price_cents: Type.Integer(),
});

export const bearerAuth = [{ bearerAuth: [] }];
