// The one error handler: every failure leaves as application/problem+json (RFC 9457)
// with a stable code. 5xx details are logged, never sent.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode } from '../../domain/errors.ts';

const statusByCode: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_SEAT_MAP: 400,
  UNKNOWN_SEATS: 400,
  DUPLICATE_SEATS: 400,
  TOO_MANY_SEATS: 400,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  UNAUTHENTICATED: 401,
  PAYMENT_DECLINED: 402,
  FORBIDDEN: 403,
  EVENT_NOT_FOUND: 404,
  RESERVATION_NOT_FOUND: 404,
  BOOKING_NOT_FOUND: 404,
  TICKET_NOT_FOUND: 404,
  TICKET_INVALID: 400,
  TICKET_REVOKED: 410,
  ALREADY_CHECKED_IN: 409,
  TICKETS_CHECKED_IN: 409,
  NOT_ENOUGH_SEATS: 409,
  BLOCK_NOT_FOUND: 404,
  SEAT_UNAVAILABLE: 409,
  SALE_NOT_OPEN: 409,
  USER_SEAT_LIMIT_EXCEEDED: 409,
  RESERVATION_CANCELLED: 409,
  RESERVATION_ALREADY_CONFIRMED: 409,
  IDEMPOTENCY_KEY_IN_FLIGHT: 409,
  PAYMENT_IN_PROGRESS: 409,
  RESERVATION_EXPIRED: 410,
  IDEMPOTENCY_KEY_REUSED: 422,
  TOO_MANY_SUBSCRIBERS: 503,
  EVENT_CANCELLED: 409,
  EVENT_STATUS_CONFLICT: 409,
  SEAT_MAP_LOCKED: 409,
  VENUE_NOT_FOUND: 404,
  PERFORMER_NOT_FOUND: 404,
  ADMISSION_REQUIRED: 403,
  WAITING_ROOM_OFF: 409,
  QUEUE_NOT_JOINED: 404,
  CHALLENGE_FAILED: 400,
  WAITING_ROOM_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  TOO_MANY_STREAMS: 429,
  SEAT_LIST_TOO_LARGE: 409,
  REFUND_WINDOW_CLOSED: 409,
  SEATS_NOT_IN_BOOKING: 409,
  WEBHOOK_SIGNATURE_INVALID: 400,
  PAYMENT_NOT_FOUND: 404,
  CARD_LIMIT_REACHED: 409,
  PAYMENT_PROVIDER_UNAVAILABLE: 503,
  CANCELLATION_NOT_FOUND: 404,
};

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  408: 'Request Timeout',
  410: 'Gone',
  414: 'URI Too Long',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusOf(code: ErrorCode): number {
  return statusByCode[code];
}

/** The members every problem document has (also for answers written before a request exists). */
export function problemDocument(status: number, code: string, detail: string) {
  return {
    type: `https://boxoffice.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: titles[status] ?? 'Error',
    status,
    detail,
    code,
  };
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  extensions: Record<string, unknown> = {},
) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      ...extensions,
      ...problemDocument(status, code, detail),
      instance: request.url.length <= 2048 ? request.url : request.url.slice(0, 2048),
      request_id: request.id,
    });
}

const fieldErrorsMax = 20;

function validationErrors(error: FastifyError) {
  const part = error.validationContext ?? 'body';
  return (error.validation ?? []).slice(0, fieldErrorsMax).map((issue) => {
    const missing = (issue.params as { missingProperty?: string; additionalProperty?: string } | undefined) ?? {};
    let path = issue.instancePath;
    if (missing.missingProperty) path += `/${missing.missingProperty}`;
    if (missing.additionalProperty) path += `/${missing.additionalProperty}`;
    const message = missing.additionalProperty
      ? `unknown field "${missing.additionalProperty}"`
      : (issue.message ?? 'invalid');
    return { in: part, path: path || '/', message };
  });
}

// PostgreSQL unreachable or restarting: the client should come back, not give up.
const databaseUnavailableCodes = new Set([
  'ECONNREFUSED',
  '53300', // too_many_connections
  'ECONNRESET',
  'ETIMEDOUT',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
]);

function isDatabaseUnavailable(error: { code?: string; message?: string }): boolean {
  return (
    (error.code !== undefined && databaseUnavailableCodes.has(error.code)) ||
    /timeout exceeded when trying to connect|Connection terminated/i.test(error.message ?? '')
  );
}

/** What a request that matched no route gets before the 404 problem: the web app's page, say. */
export type NotFoundFallback = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | null;

export function registerProblemHandlers(app: FastifyInstance, notFoundFallback: () => NotFoundFallback | null) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof DomainError) {
      const status = statusOf(error.code);
      if (status === 401) reply.header('www-authenticate', 'Bearer');
      // A use case says when to come back in ms; the answer says it in whole seconds, at
      // least 1, in the body (retry_after_seconds) and, for 429 and 503, in Retry-After.
      const extensions =
        error.retryAfterMs === null
          ? error.extensions
          : { ...error.extensions, retry_after_seconds: Math.max(1, Math.ceil(error.retryAfterMs / 1000)) };
      if (status === 503 || status === 429) {
        // The error may say when to come back (a rate limit knows); else a few seconds.
        const retryAfter = extensions.retry_after_seconds;
        reply.header('retry-after', String(typeof retryAfter === 'number' ? retryAfter : 5));
      }
      return sendProblem(request, reply, status, error.code, error.message, extensions);
    }
    if (error.validation) {
      const errors = validationErrors(error);
      return sendProblem(
        request,
        reply,
        400,
        'VALIDATION_FAILED',
        errors.map((e) => `${e.in} ${e.path}: ${e.message}`).join('; '),
        {
          errors,
        },
      );
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code =
        status === 413
          ? 'PAYLOAD_TOO_LARGE'
          : status === 415
            ? 'UNSUPPORTED_MEDIA_TYPE'
            : status === 404
              ? 'NOT_FOUND'
              : 'MALFORMED_REQUEST';
      return sendProblem(request, reply, status, code, error.message);
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', '2');
      return sendProblem(
        request,
        reply,
        503,
        'SERVICE_UNAVAILABLE',
        'the service is temporarily unavailable; retry shortly',
      );
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, 500, 'INTERNAL_ERROR', 'something went wrong on our side; it has been logged');
  });

  app.setNotFoundHandler(
    (request, reply) =>
      notFoundFallback()?.(request, reply) ??
      sendProblem(request, reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
