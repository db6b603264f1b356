// A bad-input barrage at every route the sale's aftermath added (payments webhook, the demo
// bank, buyer cancellation, organizer refunds, an event's cancellation progress) and at the
// refund policy an event carries. Whatever arrives, the answer is a 4xx problem document
// (test/support/barrage.ts; never a 5xx, never a 2xx for invalid input) and the ledger,
// seats, bookings and the provider are exactly as they were.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { TestPayments, testPaymentMethods } from '../../src/adapters/payments/test-payments.ts';
import { type Answer, barrage, type Row } from '../support/barrage.ts';
import {
  auth,
  checkInvariants,
  confirmReservation,
  createEvent,
  eventBody,
  holdSeats,
  startTestApp,
  tableCounts,
  type TestApp,
} from '../support/harness.ts';
import { ledgerSnapshot, moneyProblems, snapshotChanges } from '../support/money.ts';

const webhookSecret = 'whsec_bad_input_after_sale';
const someUuid = '00000000-0000-4000-8000-000000000000';
const sqlStrings = ["'; DROP TABLE refunds; --", "s1' OR '1'='1"];
const controlStrings: [string, string][] = [
  ['a NUL character', 'a\u0000b'],
  ['an ANSI escape', '\u001b[2Jx'],
  ['a newline', 'line\nbreak'],
  ['a DEL character', 'a\u007fb'],
];
const megabytes = (count: number) => 'x'.repeat(count * 1024 * 1024);

type Who = 'ann' | 'bob' | 'organizer' | 'rival' | 'anonymous';

/** The ids the rows refer to, made in setup. */
interface Ctx {
  eventId: string;
  /** Ann's booking (s0, s1): what the barrage aims at. */
  bookingId: string;
  /** Bob's booking (s2). */
  otherBookingId: string;
  /** Ann's hold on s3, its 3-D Secure payment pending at the bank. */
  reservationId: string;
  paymentId: string;
}

interface Case extends Row {
  method: 'GET' | 'POST' | 'PATCH';
  /** {event}, {booking}, {otherBooking}, {reservation} and {payment} are replaced with the ids made in setup. */
  url: string;
  /** Whose bearer token is sent (default ann). */
  as?: Who;
  /** A raw Authorization header instead of `as`; null: none. */
  authorization?: string | null;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent byte for byte (a function for the big ones, built when sent). */
  raw?: string | Buffer | (() => string | Buffer);
  /** Defaults to application/json when there is a body; null sends none. */
  contentType?: string | null;
  /** A valid Stripe-Signature for exactly these bytes (the provider's own, or someone with its secret). */
  signed?: boolean;
}

const fill = (text: string, ctx: Ctx) =>
  text
    .replaceAll('{event}', ctx.eventId)
    .replaceAll('{booking}', ctx.bookingId)
    .replaceAll('{otherBooking}', ctx.otherBookingId)
    .replaceAll('{reservation}', ctx.reservationId)
    .replaceAll('{payment}', ctx.paymentId);

/** Bodies that are not a JSON object or not JSON at all, for a route whose good body is `valid`. */
function unparseableBodies(route: Pick<Case, 'method' | 'url' | 'as'>, valid: string, except: string[] = []): Case[] {
  const row = (name: string, raw: Case['raw'], code: string, rest: Partial<Case> = {}): Case => ({
    ...route,
    name,
    raw,
    expect: 400,
    code,
    ...rest,
  });
  const malformed = 'MALFORMED_REQUEST';
  const invalid = 'VALIDATION_FAILED';
  return [
    row('truncated JSON', valid.slice(0, -3), malformed),
    row('trailing garbage', `${valid} garbage`, malformed),
    row('two documents back to back', `${valid}${valid}`, malformed),
    row('single-quoted JSON', valid.replaceAll('"', "'"), malformed),
    row('a bare word', 'seat_ids', malformed),
    row('a trailing comma', valid.replace(/}$/, ',}'), malformed),
    row('invalid UTF-8 bytes', Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0xc0, 0x22, 0x7d]), malformed),
    row('a "__proto__" key', valid.replace('{', '{"__proto__":{"role":"admin"},'), malformed),
    row('an empty body with content-type JSON', '', malformed),
    row('null as the whole body', 'null', invalid),
    row('an empty array as the whole body', '[]', invalid),
    row('the valid body inside an array', `[${valid}]`, invalid),
    row('a string as the whole body', '"x"', invalid),
    row('a number as the whole body', '42', invalid),
    row('an empty object', '{}', invalid),
    row('a JSON body sent as text/plain', valid, invalid, { contentType: 'text/plain' }),
    row('a form-urlencoded body', 'seat_ids=s0&user_id=x', 'UNSUPPORTED_MEDIA_TYPE', {
      contentType: 'application/x-www-form-urlencoded',
      expect: 415,
    }),
    row('a body without a content type', valid, 'UNSUPPORTED_MEDIA_TYPE', { contentType: null, expect: 415 }),
    row('a 10 MB body (the limit is 1 MB)', () => `{"seat_ids":["${megabytes(10)}"]}`, 'PAYLOAD_TOO_LARGE', {
      expect: 413,
    }),
  ].filter((c) => !except.includes(c.name));
}

/** [name, the id as it goes into the URL, the right statuses] */
const badIds: [string, string, number | number[]][] = [
  ['a non-uuid id', 'not-a-uuid', 404],
  ['an unknown uuid', someUuid, 404],
  ['a uuid with trailing junk', `${someUuid}x`, 404],
  ['a 101-character id', 'i'.repeat(101), [400, 404]],
  ['a 5,000-character id', 'i'.repeat(5000), [400, 404, 414]],
  ['an invalid percent-encoding', '%ZZ', [400, 404]],
  ['a percent-encoded NUL', '%00', [400, 404]],
  ['percent-encoded ../', '..%2F..%2F..%2Fetc%2Fpasswd', 404],
  ['SQL', encodeURIComponent(sqlStrings[0]!), 404],
  ['an emoji', encodeURIComponent('🎟️'), 404],
];

const noAuth: [string, string | null][] = [
  ['no Authorization header', null],
  ['a garbage token', 'Bearer garbage'],
  ['Basic credentials', 'Basic YWxpY2U6cGFzc3dvcmQ='],
];

/** Wrong seat_ids: [name, value, code] (400 each). */
const badSeatIds = (): [string, unknown, string | undefined][] => [
  ['null', null, 'VALIDATION_FAILED'],
  ['true', true, 'VALIDATION_FAILED'],
  ['a string', 's0', 'VALIDATION_FAILED'],
  ['a number', 0, 'VALIDATION_FAILED'],
  ['an object', { s0: true }, 'VALIDATION_FAILED'],
  ['an empty array', [], 'VALIDATION_FAILED'],
  ['[null]', [null], 'VALIDATION_FAILED'],
  ['[0]', [0], 'VALIDATION_FAILED'],
  ['[true]', [true], 'VALIDATION_FAILED'],
  ['[{}]', [{}], 'VALIDATION_FAILED'],
  ['a nested array', [['s0']], 'VALIDATION_FAILED'],
  ['an empty seat id', [''], 'VALIDATION_FAILED'],
  ['a 33-character seat id', [`s${'1'.repeat(32)}`], 'VALIDATION_FAILED'],
  ...controlStrings.map(([name, text]): [string, unknown, string] => [
    `a seat id with ${name}`,
    [text],
    'VALIDATION_FAILED',
  ]),
  // Well typed, no such seat: the event has 40 (s0–s39).
  ...[
    's40',
    's999999999',
    's1000000000',
    'S0',
    's-1',
    's1.5',
    's01',
    's00',
    's 1',
    ' s1',
    's1 ',
    's１',
    'ｓ1',
    '0',
    's0x',
    'seat-0',
    '🎟️',
    ...sqlStrings,
  ].map((seatId): [string, unknown, string | undefined] => [`seat id ${JSON.stringify(seatId)}`, [seatId], undefined]),
  ['a seat named twice', ['s0', 's0'], 'DUPLICATE_SEATS'],
  ['a seat named twice among others', ['s0', 's1', 's0'], 'DUPLICATE_SEATS'],
  ['1,001 seat ids (the limit is 1,000)', Array.from({ length: 1001 }, (_, i) => `s${i}`), 'VALIDATION_FAILED'],
  ['1,000 seat ids of no seat', Array.from({ length: 1000 }, (_, i) => `s${40 + i}`), 'UNKNOWN_SEATS'],
  ['100,000 seat ids', Array.from({ length: 100_000 }, (_, i) => `s${i}`), undefined],
];

const cancelRoute = { method: 'POST', url: '/v1/bookings/{booking}/cancel', as: 'ann' } as const;
const refundRoute = { method: 'POST', url: '/v1/bookings/{booking}/refund', as: 'organizer' } as const;
const progressRoute = { method: 'GET', url: '/v1/events/{event}/cancellation', as: 'organizer' } as const;
const bankRoute = { method: 'POST', url: '/v1/dev/payments/{payment}/complete', as: 'ann' } as const;
const webhookRoute = { method: 'POST', url: '/v1/payments/webhook', as: 'anonymous' } as const;

const idCases = (route: Pick<Case, 'method' | 'url' | 'as' | 'body'>, placeholder: string): Case[] => [
  ...badIds.map(([name, id, expect]): Case => ({
    ...route,
    name: `${name} for ${placeholder}`,
    url: route.url.replace(placeholder, id),
    expect,
  })),
  {
    ...route,
    name: `../ in the path for ${placeholder}`,
    url: `${route.url.replace(placeholder, '..')}/../..`,
    expect: 404,
  },
];

const authCases = (route: Pick<Case, 'method' | 'url' | 'body'>): Case[] =>
  noAuth.map(([name, authorization]) => ({ ...route, name, authorization, expect: 401 }));

const cancelCases = (): Case[] => {
  const valid = { seat_ids: ['s0'] };
  return [
    ...badSeatIds().map(([name, value, code]): Case => ({
      ...cancelRoute,
      name: `seat_ids as ${name}`,
      body: { seat_ids: value },
      expect: name.startsWith('100,000') ? [400, 413] : 400,
      code,
    })),
    ...[
      { amount_cents: 1 },
      { refund_cents: 999_999 },
      { fee_percent: 0 },
      { user_id: 'bob' },
      { booking_id: someUuid },
      { reason: 'changed my mind' },
    ].map((extra): Case => ({
      ...cancelRoute,
      name: `an unknown field ${Object.keys(extra)[0]}`,
      body: { ...valid, ...extra },
      expect: 400,
      code: 'VALIDATION_FAILED',
    })),
    // Well formed, but the seats are not this booking's.
    ...[['s2'], ['s5'], ['s0', 's2']].map((seatIds): Case => ({
      ...cancelRoute,
      name: `seats ${seatIds.join(', ')} (not all in the booking)`,
      body: { seat_ids: seatIds },
      expect: 409,
      code: 'SEATS_NOT_IN_BOOKING',
    })),
    {
      ...cancelRoute,
      name: 'an Idempotency-Key of 256 characters',
      headers: { 'idempotency-key': 'k'.repeat(256) },
      body: valid,
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    { ...cancelRoute, name: "another buyer's booking", as: 'bob', body: valid, expect: 404, code: 'BOOKING_NOT_FOUND' },
    {
      ...cancelRoute,
      name: "another buyer's booking, whole",
      url: '/v1/bookings/{otherBooking}/cancel',
      expect: 404,
      code: 'BOOKING_NOT_FOUND',
    },
    { ...cancelRoute, name: 'a reservation id as a booking id', url: '/v1/bookings/{reservation}/cancel', expect: 404 },
    { ...cancelRoute, name: 'an event id as a booking id', url: '/v1/bookings/{event}/cancel', expect: 404 },
    ...idCases({ ...cancelRoute, body: valid }, '{booking}'),
    ...authCases({ ...cancelRoute, body: valid }),
    // {} (and no body) is the whole booking: not bad input, so not sent here.
    ...unparseableBodies(cancelRoute, JSON.stringify(valid), ['an empty object']),
  ];
};

const refundCases = (): Case[] => {
  const valid = { reason: 'the stage collapsed', seat_ids: ['s0'] };
  return [
    ...(
      [
        ['missing', undefined],
        ['null', null],
        ['a number', 1],
        ['true', true],
        ['an array', ['x']],
        ['an object', { text: 'x' }],
        ['empty', ''],
        ['501 characters', 'r'.repeat(501)],
        ...controlStrings,
      ] as [string, unknown][]
    ).map(([name, reason]): Case => ({
      ...refundRoute,
      name: `reason ${name}`,
      body: reason === undefined ? { seat_ids: ['s0'] } : { ...valid, reason },
      expect: 400,
      code: 'VALIDATION_FAILED',
    })),
    ...badSeatIds()
      .filter(([name]) => !name.startsWith('100,000'))
      .map(([name, value, code]): Case => ({
        ...refundRoute,
        name: `seat_ids as ${name}`,
        body: { ...valid, seat_ids: value },
        expect: 400,
        code,
      })),
    ...[{ amount_cents: 1 }, { fee_percent: 0 }, { refund_all: true }, { user_id: 'ann' }].map((extra): Case => ({
      ...refundRoute,
      name: `an unknown field ${Object.keys(extra)[0]}`,
      body: { ...valid, ...extra },
      expect: 400,
      code: 'VALIDATION_FAILED',
    })),
    { ...refundRoute, name: 'seats not in the booking', body: { ...valid, seat_ids: ['s2'] }, expect: 409 },
    { ...refundRoute, name: 'a buyer (not an organizer)', as: 'ann', body: valid, expect: 403 },
    {
      ...refundRoute,
      name: "another event's organizer",
      as: 'rival',
      body: valid,
      expect: 404,
      code: 'BOOKING_NOT_FOUND',
    },
    ...idCases({ ...refundRoute, body: valid }, '{booking}'),
    ...authCases({ ...refundRoute, body: valid }),
    ...unparseableBodies(refundRoute, JSON.stringify(valid)),
  ];
};

const progressCases = (): Case[] => [
  { ...progressRoute, name: 'an event that is not cancelled', expect: 404, code: 'CANCELLATION_NOT_FOUND' },
  {
    ...progressRoute,
    name: 'an unknown query parameter',
    url: '/v1/events/{event}/cancellation?status=done',
    expect: 404,
  },
  { ...progressRoute, name: 'a buyer', as: 'ann', expect: 403 },
  { ...progressRoute, name: "another event's organizer", as: 'rival', expect: 404, code: 'EVENT_NOT_FOUND' },
  { ...progressRoute, name: 'a booking id as an event id', url: '/v1/events/{booking}/cancellation', expect: 404 },
  ...idCases(progressRoute, '{event}'),
  ...authCases(progressRoute),
];

const bankCases = (): Case[] => [
  ...([null, 'success', 'SUCCEEDED', 'canceled', 'requires_action', '', 1, true, [], {}] as unknown[]).map(
    (outcome): Case => ({
      ...bankRoute,
      name: `outcome ${JSON.stringify(outcome)}`,
      body: { outcome },
      expect: 400,
      code: 'VALIDATION_FAILED',
    }),
  ),
  { ...bankRoute, name: 'outcome missing', body: {}, expect: 400, code: 'VALIDATION_FAILED' },
  {
    ...bankRoute,
    name: 'an unknown field',
    body: { outcome: 'failed', amount_cents: 1 },
    expect: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    ...bankRoute,
    name: 'a payment the provider never made',
    url: '/v1/dev/payments/pi_test_nope/complete',
    body: { outcome: 'succeeded' },
    expect: 404,
    code: 'PAYMENT_NOT_FOUND',
  },
  {
    ...bankRoute,
    name: 'a reservation id as a payment id',
    url: '/v1/dev/payments/{reservation}/complete',
    body: { outcome: 'succeeded' },
    expect: 404,
  },
  ...idCases({ ...bankRoute, body: { outcome: 'succeeded' } }, '{payment}'),
  ...authCases({ ...bankRoute, body: { outcome: 'failed' } }),
  ...unparseableBodies(bankRoute, JSON.stringify({ outcome: 'failed' })),
];

const webhookUnsignedCases = (): Case[] => {
  const invalid = 'WEBHOOK_SIGNATURE_INVALID';
  const event = JSON.stringify({
    id: 'evt_x',
    object: 'event',
    type: 'payment_intent.succeeded',
    data: { object: {} },
  });
  return [
    { ...webhookRoute, name: 'garbage, unsigned', raw: 'garbage', expect: 400, code: invalid },
    { ...webhookRoute, name: 'an event, unsigned', raw: event, expect: 400, code: invalid },
    {
      ...webhookRoute,
      name: 'an event with a garbage signature',
      raw: event,
      headers: { 'stripe-signature': 'garbage' },
      expect: 400,
      code: invalid,
    },
    {
      ...webhookRoute,
      name: 'an empty body',
      raw: '',
      headers: { 'stripe-signature': 't=1,v1=00' },
      expect: 400,
      code: invalid,
    },
    {
      ...webhookRoute,
      name: 'a 5,000-character signature',
      raw: event,
      headers: { 'stripe-signature': `t=1,v1=${'0'.repeat(5000)}` },
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    { ...webhookRoute, name: 'the event as text/plain', raw: event, contentType: 'text/plain', expect: [400, 415] },
    {
      ...webhookRoute,
      name: 'a form-urlencoded body',
      raw: 'type=payment_intent.succeeded',
      contentType: 'application/x-www-form-urlencoded',
      expect: 415,
    },
    { ...webhookRoute, name: 'no content type', raw: event, contentType: null, expect: 415 },
    { ...webhookRoute, name: 'a 2 MB event (the limit is 1 MB)', raw: () => megabytes(2), expect: 413 },
  ];
};

/** Signed with the endpoint's secret, so they get past the signature: what is inside must not break anything. */
const webhookSignedCases = (ctx: Ctx): Case[] => {
  const intent = (object: Record<string, unknown>) => ({ id: 'pi_test_not_ours', object: 'payment_intent', ...object });
  const stripeEvent = (type: unknown, object: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: `evt_bad_${Math.random().toString(36).slice(2)}`,
      object: 'event',
      type,
      data: { object },
      ...extra,
    });
  const ours = { reservation_id: ctx.reservationId, attempt: '0' };
  /** Understood, and nobody's payment or refund: acknowledged (200) so the provider stops sending it. */
  const signed = (name: string, raw: string): Case => ({
    ...webhookRoute,
    name: `signed: ${name}`,
    raw,
    signed: true,
    expect: 200,
  });
  /** Not an event at all: refused as a forged one is. */
  const signedNonsense = (name: string, raw: string): Case => ({
    ...signed(name, raw),
    expect: 400,
    code: 'WEBHOOK_SIGNATURE_INVALID',
  });
  return [
    signedNonsense('not JSON', '{"id": "evt_1", "type": '),
    signedNonsense('JSON null', 'null'),
    signedNonsense('a JSON array', '[]'),
    signedNonsense('a JSON string', '"payment_intent.succeeded"'),
    signedNonsense('an empty object', '{}'),
    signedNonsense('an event without data', JSON.stringify({ id: 'evt_no_data', type: 'payment_intent.succeeded' })),
    signedNonsense('data.object null', stripeEvent('payment_intent.succeeded', null)),
    signedNonsense('data.object a string', stripeEvent('payment_intent.succeeded', 'pi_x')),
    signed('a payment without metadata', stripeEvent('payment_intent.succeeded', intent({}))),
    signed('metadata null', stripeEvent('payment_intent.succeeded', intent({ metadata: null }))),
    ...['99999999999', '-1', '1.5', 'NaN', '1e3', '', '0x1'].map((attempt) =>
      signed(
        `attempt ${JSON.stringify(attempt)}`,
        stripeEvent('payment_intent.succeeded', intent({ metadata: { reservation_id: ctx.reservationId, attempt } })),
      ),
    ),
    ...['not-a-uuid', sqlStrings[0]!, someUuid, ctx.bookingId].map((reservationId) =>
      signed(
        `reservation_id ${JSON.stringify(reservationId)}`,
        stripeEvent('payment_intent.succeeded', intent({ metadata: { reservation_id: reservationId, attempt: '0' } })),
      ),
    ),
    // Ann's very reservation and attempt, but another payment: it is not the one she is paying with.
    signed(
      'success of another payment naming a real pending reservation',
      stripeEvent('payment_intent.succeeded', intent({ metadata: ours })),
    ),
    signed(
      'failure of another payment naming a real pending reservation',
      stripeEvent('payment_intent.payment_failed', intent({ metadata: ours })),
    ),
    signed(
      'cancellation of another payment naming a real pending reservation',
      stripeEvent('payment_intent.canceled', intent({ metadata: ours })),
    ),
    signed('a payment id that is a number', stripeEvent('payment_intent.succeeded', { id: 42, metadata: ours })),
    signedNonsense('a type that is a number', stripeEvent(42, intent({ metadata: ours }))),
    signed('an unknown type', stripeEvent('customer.created', { id: 'cus_1', object: 'customer' })),
    // Without an id an event could not be applied once: refused.
    signedNonsense(
      'no event id',
      JSON.stringify({
        object: 'event',
        type: 'payment_intent.succeeded',
        data: { object: intent({ metadata: ours }) },
      }),
    ),
    signed('a 10,000-character event id', stripeEvent('customer.created', {}, { id: `evt_${'x'.repeat(10_000)}` })),
    ...['not-a-uuid', sqlStrings[0]!, someUuid, ''].flatMap((refundId) => [
      signed(
        `a refund success naming refund ${JSON.stringify(refundId)}`,
        stripeEvent('refund.updated', {
          id: 're_test_not_ours',
          object: 'refund',
          status: 'succeeded',
          payment_intent: 'pi_test_not_ours',
          metadata: { refund_id: refundId },
        }),
      ),
      signed(
        `a refund failure naming refund ${JSON.stringify(refundId)}`,
        stripeEvent('refund.failed', {
          id: 're_test_not_ours',
          object: 'refund',
          status: 'failed',
          payment_intent: 'pi_test_not_ours',
          metadata: { refund_id: refundId },
        }),
      ),
    ]),
  ];
};

/** A refund_policy that is not one: [name, value]. */
const badRefundPolicies: [string, unknown][] = [
  ['a string', '48h'],
  ['a number', 48],
  ['true', true],
  ['an array', [{ buyer_cancel_until_hours: 48 }]],
  ['an empty object', {}],
  ['buyer_cancel_until_hours -1', { buyer_cancel_until_hours: -1 }],
  ['buyer_cancel_until_hours 8,761 (over a year)', { buyer_cancel_until_hours: 8_761 }],
  ['buyer_cancel_until_hours 1.5', { buyer_cancel_until_hours: 1.5 }],
  ['buyer_cancel_until_hours "48"', { buyer_cancel_until_hours: '48' }],
  ['buyer_cancel_until_hours null', { buyer_cancel_until_hours: null }],
  ['fee_percent -1', { buyer_cancel_until_hours: 48, fee_percent: -1 }],
  ['fee_percent 100.01', { buyer_cancel_until_hours: 48, fee_percent: 100.01 }],
  ['fee_percent "10"', { buyer_cancel_until_hours: 48, fee_percent: '10' }],
  ['fee_percent null', { buyer_cancel_until_hours: 48, fee_percent: null }],
  ['fee_percent 1e308', { buyer_cancel_until_hours: 48, fee_percent: 1e308 }],
  ['an unknown field', { buyer_cancel_until_hours: 48, fee_cents: 100 }],
];

const refundPolicyCases = (): Case[] => {
  const create = { method: 'POST', url: '/v1/events', as: 'organizer' } as const;
  const patch = { method: 'PATCH', url: '/v1/events/{event}', as: 'organizer' } as const;
  const validJson = JSON.stringify(eventBody({ refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 10 } }));
  return [
    ...badRefundPolicies.flatMap(([name, policy]): Case[] => [
      {
        ...create,
        name: `creating with refund_policy as ${name}`,
        body: eventBody({ refund_policy: policy }),
        expect: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        ...patch,
        name: `changing refund_policy to ${name}`,
        body: { refund_policy: policy },
        expect: 400,
        code: 'VALIDATION_FAILED',
      },
    ]),
    // Numbers JSON.stringify cannot write: as raw text.
    {
      ...create,
      name: 'creating with fee_percent 1e400',
      raw: validJson.replace('"fee_percent":10', '"fee_percent":1e400'),
      expect: 400,
    },
    {
      ...create,
      name: 'creating with buyer_cancel_until_hours 1e400',
      raw: validJson.replace('"buyer_cancel_until_hours":48', '"buyer_cancel_until_hours":1e400'),
      expect: 400,
    },
    {
      ...patch,
      name: "changing another organizer's refund policy",
      as: 'rival',
      body: { refund_policy: null },
      expect: 404,
    },
    { ...patch, name: 'a buyer changing the refund policy', as: 'ann', body: { refund_policy: null }, expect: 403 },
  ];
};

describe('bad input after the sale', () => {
  let t: TestApp;
  let payments: TestPayments;
  let ctx: Ctx;
  let tokens: Record<Exclude<Who, 'anonymous'>, string>;
  let countsBefore: Record<string, number>;
  let providerBefore: { charges: string; refunds: string };

  before(async () => {
    payments = new TestPayments({ webhookSecret });
    t = await startTestApp({ payments });
    tokens = {
      ann: await t.token('ann'),
      bob: await t.token('bob'),
      organizer: await t.token('organizer-1', 'organizer'),
      rival: await t.token('organizer-2', 'organizer'),
    };
    const eventId = await createEvent(t, { refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 10 } });
    const buy = async (user: string, seatIds: string[]) => {
      const reservationId = await holdSeats(t, eventId, user, seatIds);
      const response = await confirmReservation(t, user, reservationId, `setup-${user}`);
      assert.equal(response.statusCode, 201, response.body);
      return response.json().booking_id as string;
    };
    const bookingId = await buy('ann', ['s0', 's1']);
    const otherBookingId = await buy('bob', ['s2']);
    const reservationId = await holdSeats(t, eventId, 'ann', ['s3']);
    const pending = await confirmReservation(t, 'ann', reservationId, 'setup-pending', testPaymentMethods.threeDSecure);
    assert.equal(pending.statusCode, 202, pending.body);
    await payments.webhooksSettled();
    ctx = { eventId, bookingId, otherBookingId, reservationId, paymentId: pending.json().payment.payment_id };
    countsBefore = await tableCounts(t);
    providerBefore = { charges: JSON.stringify(payments.charges()), refunds: JSON.stringify(payments.refunds()) };
  });
  after(() => t?.close());

  const send = async (c: Case): Promise<Answer> => {
    const headers: Record<string, string> = { ...c.headers };
    const authorization =
      c.authorization !== undefined
        ? c.authorization
        : (c.as ?? 'ann') === 'anonymous'
          ? null
          : auth(tokens[(c.as ?? 'ann') as Exclude<Who, 'anonymous'>]).authorization;
    if (authorization !== null) headers.authorization = authorization;
    let payload: string | Buffer | undefined;
    if (c.raw !== undefined) payload = typeof c.raw === 'function' ? c.raw() : c.raw;
    else if (c.body !== undefined) payload = JSON.stringify(c.body);
    if (payload !== undefined && c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
    if (c.signed) {
      headers['stripe-signature'] = Stripe.webhooks.generateTestHeaderString({
        payload: String(payload),
        secret: webhookSecret,
      });
    }
    return t.app.inject({ method: c.method, url: fill(c.url, ctx), headers, payload });
  };
  const label = (c: Case) => `[${c.method} ${c.url.length > 100 ? `${c.url.slice(0, 100)}…` : c.url}] ${c.name}`;

  /** Runs the rows; nothing they touch may change (provider_events may record signed events). */
  const nothingChanges = async (cases: Case[], allowed: string[] = []) => {
    const before = await ledgerSnapshot(t);
    await barrage(cases, send, label);
    await payments.webhooksSettled();
    const changed = snapshotChanges(before, await ledgerSnapshot(t)).filter((table) => !allowed.includes(table));
    assert.deepEqual(changed, [], 'the bad input changed these tables');
  };

  test('when POST /v1/bookings/{id}/cancel gets bad seat ids, huge lists, unknown fields, bad ids or junk, then 4xx problems', () =>
    nothingChanges(cancelCases()));

  test('when POST /v1/bookings/{id}/refund gets a bad reason or seat ids, the wrong caller, bad ids or junk, then 4xx problems', () =>
    nothingChanges(refundCases()));

  test('when GET /v1/events/{id}/cancellation is asked of an event not cancelled, by the wrong caller or with bad ids, then 4xx problems', () =>
    nothingChanges(progressCases()));

  test('when POST /v1/dev/payments/{id}/complete gets a bad outcome, an unknown payment, bad ids or junk, then 4xx problems', () =>
    nothingChanges(bankCases()));

  test('when POST /v1/payments/webhook gets unsigned, oversized or mistyped bodies, then 4xx problems', () =>
    nothingChanges(webhookUnsignedCases()));

  test('when a correctly signed webhook is not an event, then 400; when it names nothing of ours, then 200 and nothing changes but the events received', () =>
    nothingChanges(webhookSignedCases(ctx), ['provider_events']));

  test('when an event is created or changed with a refund_policy that is not one, then 400 problems', () =>
    nothingChanges(refundPolicyCases()));

  test('when the barrage is over, then the counts, the provider, the booking and the pending payment are as they were', async () => {
    assert.deepEqual(await tableCounts(t), countsBefore);
    assert.deepEqual(
      { charges: JSON.stringify(payments.charges()), refunds: JSON.stringify(payments.refunds()) },
      providerBefore,
      'the provider was asked for something',
    );
    assert.deepEqual(await checkInvariants(t), []);
    assert.deepEqual(await moneyProblems(t, { provider: payments, settled: true }), []);
    const booking = await t.app.inject({
      method: 'GET',
      url: `/v1/bookings/${ctx.bookingId}`,
      headers: auth(tokens.ann),
    });
    assert.equal(booking.json().status, 'confirmed');
    assert.deepEqual(
      booking.json().seats.map((seat: { seat_id: string }) => seat.seat_id),
      ['s0', 's1'],
    );
    const held = await t.app.inject({
      method: 'GET',
      url: `/v1/reservations/${ctx.reservationId}`,
      headers: auth(tokens.ann),
    });
    assert.equal(held.json().status, 'active');
    assert.equal(held.json().payment_status, 'requires_action');
  });
});
