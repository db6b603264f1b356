// A bad-input barrage at every route that takes input. Whatever arrives, the answer is a
// 4xx RFC 9457 problem document (never a 5xx, never a 2xx for input that is invalid) and
// the database is exactly as it was before the barrage.
//
// The cases are data: each row names what is sent, where, and the statuses it may get.
// A family of rows runs in one test; every row runs even when an earlier one fails, and
// the failure lists every row that broke the contract, by name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  auth,
  checkInvariants,
  createEvent,
  eventBody,
  startTestApp,
  tableCounts,
  testSecret,
  type TestApp,
} from '../support/harness.ts';

// ---------------------------------------------------------------------------------------
// The case table and the one runner.

type Who = 'alice' | 'bob' | 'organizer' | 'anonymous';

/** What the barrage knows once setup is done: the ids and tokens the rows refer to. */
interface Ctx {
  eventId: string;
  reservationId: string;
  bookingId: string;
  tokens: Record<Exclude<Who, 'anonymous'>, string>;
  /** Validly formed but unacceptable tokens, by name (see forgedTokens). */
  forged: Record<string, string>;
}

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** {event}, {reservation} and {booking} are replaced with the ids made in setup. */
  url: string;
  /** Whose bearer token is sent (default alice). */
  as?: Who;
  /** A raw Authorization header instead of `as` (undefined result: no header). */
  authorization?: (ctx: Ctx) => string | undefined;
  /** Confirm only: default a fresh valid key; null sends no header. */
  idempotencyKey?: string | null;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent byte for byte (a function for the big ones, built when sent). */
  raw?: string | Buffer | (() => string | Buffer);
  /** Defaults to application/json when there is a body; null sends none. */
  contentType?: string | null;
  /** The statuses that are right for this row. */
  expect: number | readonly number[];
  /** The problem code, when only one is right. */
  code?: string;
}

let keySequence = 0;

async function send(t: TestApp, ctx: Ctx, c: Case) {
  const url = c.url
    .replaceAll('{event}', ctx.eventId)
    .replaceAll('{reservation}', ctx.reservationId)
    .replaceAll('{booking}', ctx.bookingId);
  const headers: Record<string, string> = {};
  const who = c.as ?? 'alice';
  const authorization = c.authorization
    ? c.authorization(ctx)
    : who === 'anonymous'
      ? undefined
      : auth(ctx.tokens[who]).authorization;
  if (authorization !== undefined) headers.authorization = authorization;
  if (url.endsWith('/confirm')) {
    const key = c.idempotencyKey === undefined ? `bad-input-${(keySequence += 1)}` : c.idempotencyKey;
    if (key !== null) headers['idempotency-key'] = key;
  }
  let payload: string | Buffer | undefined;
  if (c.raw !== undefined) payload = typeof c.raw === 'function' ? c.raw() : c.raw;
  else if (c.body !== undefined) payload = JSON.stringify(c.body);
  if (payload !== undefined && c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
  return t.app.inject({ method: c.method, url, headers, payload });
}

type Response = Awaited<ReturnType<typeof send>>;

function describeResponse(c: Case, response: Response): string {
  const body = response.body.length > 300 ? `${response.body.slice(0, 300)}…` : response.body;
  return `[${c.method} ${c.url.length > 120 ? `${c.url.slice(0, 120)}…` : c.url}] ${c.name} → ${response.statusCode} ${response.headers['content-type']} ${body}`;
}

/** The contract for a refused request: an expected 4xx, as a complete problem document. */
function assertProblem(c: Case, response: Response) {
  const label = describeResponse(c, response);
  const allowed = [c.expect].flat();
  assert.ok(response.statusCode < 500, `5xx for bad input: ${label}`);
  assert.ok(response.statusCode >= 400, `bad input accepted: ${label}`);
  assert.ok(allowed.includes(response.statusCode), `expected ${allowed.join(' or ')}: ${label}`);
  assert.match(
    String(response.headers['content-type']),
    /^application\/problem\+json(;|$)/,
    `not a problem document: ${label}`,
  );
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(response.body);
  } catch {
    assert.fail(`problem body is not JSON: ${label}`);
  }
  for (const member of ['type', 'title', 'detail', 'code']) {
    assert.equal(typeof problem[member], 'string', `problem member "${member}" missing: ${label}`);
  }
  assert.ok((problem.code as string).length > 0, `empty problem code: ${label}`);
  assert.equal(problem.status, response.statusCode, `problem "status" differs from the HTTP status: ${label}`);
  if (c.code) assert.equal(problem.code, c.code, `problem code: ${label}`);
}

/** Runs every row; fails once at the end listing each row that broke the contract. */
async function barrage(
  t: TestApp,
  ctx: Ctx,
  cases: readonly Case[],
  check: (c: Case, response: Response) => void = assertProblem,
) {
  assert.ok(cases.length > 0, 'an empty barrage proves nothing');
  const failures: string[] = [];
  for (const c of cases) {
    try {
      check(c, await send(t, ctx, c));
    } catch (error) {
      failures.push(error instanceof Error ? error.message : `${c.name}: ${String(error)}`);
    }
  }
  if (failures.length > 0) {
    assert.fail(`${failures.length} of ${cases.length} cases broke the contract:\n  ${failures.join('\n  ')}`);
  }
}

// ---------------------------------------------------------------------------------------
// Hostile values, shared by the tables below.

const sqlStrings = ["'; DROP TABLE seats; --", "s1' OR '1'='1"];
const unicodeStrings: [string, string][] = [
  ['an emoji', '🎟️🎭'],
  ['right-to-left text', 'مقعد ٥ \u202eevil'],
  ['combining marks', 's\u0301\u0308\u20dd'],
  ['a zero-width space', 's\u200b5'],
  ['fullwidth digits', 's５'],
];
const controlStrings: [string, string][] = [
  ['a NUL character', 'a\u0000b'],
  ['a bell character', 'a\u0007b'],
  ['an ANSI escape', '\u001b[2Jx'],
  ['a newline', 'line\nbreak'],
  ['a tab', 'tab\there'],
  ['a DEL character', 'a\u007fb'],
];
const megabytes = (count: number) => 'x'.repeat(count * 1024 * 1024);
const tenMegabyteJson = () => `{"name":"${megabytes(10)}"}`;

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const someUuid = '00000000-0000-4000-8000-000000000000';

/** Immutable "set the value at this path" for building bodies with one field wrong. */
function withValue(body: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(body) ? [...body] : { ...(body as object) }) as Record<string | number, unknown>;
  copy[head!] = withValue(copy[head!], rest, value);
  return copy;
}

// Wrong values by the kind of field they go into. null, booleans, numbers as strings,
// strings as numbers, objects and arrays are wrong everywhere; the rest are kind-specific.
type Kind = 'text' | 'date' | 'count' | 'cents' | 'currency' | 'object' | 'array';

const wrongValues: Record<Kind, [string, unknown][]> = {
  text: [
    ['null', null],
    ['true', true],
    ['a number', 42],
    ['an object', { value: 'x' }],
    ['an array', ['x']],
    ['an empty string', ''],
    ['a 100,000-character string', 'x'.repeat(100_000)],
    ...controlStrings,
  ],
  date: [
    ['null', null],
    ['false', false],
    ['epoch milliseconds', 1_800_000_000_000],
    ['an object', {}],
    ['an array', ['2027-01-01T00:00:00Z']],
    ['an empty string', ''],
    ['"yesterday"', 'yesterday'],
    ['month 13, day 45, hour 99', '2027-13-45T99:00:00Z'],
    ['February 30th', '2027-02-30T10:00:00Z'],
    ['a date without a time', '2027-01-01'],
    ['a time without an offset', '2027-01-01T10:00:00'],
    ['a 41-character date', `2027-01-01T10:00:00.${'0'.repeat(20)}Z`],
    ['a date with a NUL', '2027-01-01T10:00:00Z\u0000'],
  ],
  count: [
    ['null', null],
    ['true', true],
    ['a number as a string', '8'],
    ['a word', 'eight'],
    ['an object', { value: 8 }],
    ['an array', [8]],
    ['zero', 0],
    ['-1', -1],
    ['0.5', 0.5],
    ['1e308', 1e308],
    ['2**53', 2 ** 53],
  ],
  cents: [
    ['null', null],
    ['false', false],
    ['a number as a string', '100'],
    ['an array', [100]],
    ['-1', -1],
    ['0.5', 0.5],
    ['1e308', 1e308],
    ['2**53', 2 ** 53],
    ['one more than the maximum', 100_000_001],
  ],
  currency: [
    ['null', null],
    ['a number', 840],
    ['lower case', 'usd'],
    ['two letters', 'US'],
    ['four letters', 'USDX'],
    ['symbols', '€€€'],
    ['emoji', '💵💵💵'],
    ['an empty string', ''],
    ['SQL', sqlStrings[0]],
  ],
  object: [
    ['null', null],
    ['true', true],
    ['a string', 'x'],
    ['a number', 1],
    ['an array', [{}]],
  ],
  array: [
    ['null', null],
    ['true', true],
    ['a string', 'x'],
    ['a number', 1],
    ['an object', {}],
    ['an empty array', []],
  ],
};

const eventFields: [path: (string | number)[], kind: Kind][] = [
  [['name'], 'text'],
  [['category'], 'text'],
  [['starts_at'], 'date'],
  [['sale_opens_at'], 'date'],
  [['venue'], 'object'],
  [['venue', 'name'], 'text'],
  [['venue', 'city'], 'text'],
  [['max_seats_per_user'], 'count'],
  [['price_tiers'], 'array'],
  [['price_tiers', 0], 'object'],
  [['price_tiers', 0, 'id'], 'text'],
  [['price_tiers', 0, 'name'], 'text'],
  [['price_tiers', 0, 'price_cents'], 'cents'],
  [['price_tiers', 0, 'currency'], 'currency'],
  [['seat_map'], 'object'],
  [['seat_map', 'sections'], 'array'],
  [['seat_map', 'sections', 0], 'object'],
  [['seat_map', 'sections', 0, 'name'], 'text'],
  [['seat_map', 'sections', 0, 'price_tier'], 'text'],
  [['seat_map', 'sections', 0, 'rows'], 'array'],
  [['seat_map', 'sections', 0, 'rows', 0], 'object'],
  [['seat_map', 'sections', 0, 'rows', 0, 'label'], 'text'],
  [['seat_map', 'sections', 0, 'rows', 0, 'seats'], 'count'],
];

/** Bodies that are not a JSON object, or not JSON at all, for a route whose good body is `valid`. */
function unparseableBodies(route: Pick<Case, 'method' | 'url' | 'as'>, valid: string, limitMegabytes: number): Case[] {
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
    row('an opening brace only', '{', malformed),
    row('trailing garbage', `${valid} garbage`, malformed),
    row('two documents back to back', `${valid}${valid}`, malformed),
    row('single-quoted JSON', valid.replaceAll('"', "'"), malformed),
    row('a bare word', 'seat_ids', malformed),
    row('a bare NaN', 'NaN', malformed),
    row('a bare undefined', 'undefined', malformed),
    row('a trailing comma', valid.replace(/}$/, ',}'), malformed),
    row('a JavaScript comment', `/* hi */${valid}`, malformed),
    row('a raw control character inside a string', valid.replace('"', '"\u0001'), malformed),
    row('an invalid escape', valid.replace('"', '"\\x41'), malformed),
    row('invalid UTF-8 bytes', Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0xc0, 0x22, 0x7d]), malformed),
    row('a "__proto__" key', valid.replace('{', '{"__proto__":{"role":"admin"},'), malformed),
    row(
      'a "constructor.prototype" key',
      valid.replace('{', '{"constructor":{"prototype":{"role":"admin"}},'),
      malformed,
    ),
    row('an empty body with content-type JSON', '', malformed),
    row('a whitespace-only body', ' \n\t ', malformed),
    row('null as the whole body', 'null', invalid),
    row('an empty array as the whole body', '[]', invalid),
    row('the valid body inside an array', `[${valid}]`, invalid),
    row('a string as the whole body', '"x"', invalid),
    row('a number as the whole body', '42', invalid),
    row('true as the whole body', 'true', invalid),
    row('an empty object', '{}', invalid),
    row('a JSON body sent as text/plain', valid, invalid, { contentType: 'text/plain' }),
    row('a form-urlencoded body', 'seat_ids=s5&user_id=x', 'UNSUPPORTED_MEDIA_TYPE', {
      contentType: 'application/x-www-form-urlencoded',
      expect: 415,
    }),
    row('a multipart body', '--x\r\n\r\n{}\r\n--x--', 'UNSUPPORTED_MEDIA_TYPE', {
      contentType: 'multipart/form-data; boundary=x',
      expect: 415,
    }),
    row('an XML body', '<seat_ids>s5</seat_ids>', 'UNSUPPORTED_MEDIA_TYPE', {
      contentType: 'application/xml',
      expect: 415,
    }),
    row('a body without a content type', valid, 'UNSUPPORTED_MEDIA_TYPE', { contentType: null, expect: 415 }),
    row(`a 10 MB body (the limit is ${limitMegabytes} MB)`, tenMegabyteJson, 'PAYLOAD_TOO_LARGE', { expect: 413 }),
    row('a 10 MB text/plain body', () => megabytes(10), 'PAYLOAD_TOO_LARGE', {
      contentType: 'text/plain',
      expect: 413,
    }),
  ];
}

// ---------------------------------------------------------------------------------------
// Tokens that are well formed enough to reach verification, and must all fail it.

async function forgedTokens(): Promise<Record<string, string>> {
  const secret = new TextEncoder().encode(testSecret);
  const make = (options: {
    sub?: string;
    role?: unknown;
    alg?: string;
    key?: Uint8Array;
    expiresAt?: number | string;
  }) => {
    let jwt = new SignJWT(options.role === undefined ? {} : { role: options.role as string })
      .setProtectedHeader({ alg: options.alg ?? 'HS256' })
      .setIssuedAt()
      .setExpirationTime(options.expiresAt ?? '1h');
    if (options.sub !== undefined) jwt = jwt.setSubject(options.sub);
    return jwt.sign(options.key ?? secret);
  };
  const unsigned = (header: object, payload: object) =>
    `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;
  return {
    'alg none': unsigned(
      { alg: 'none', typ: 'JWT' },
      { sub: 'alice', role: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 },
    ),
    'another secret': await make({ sub: 'alice', role: 'admin', key: new TextEncoder().encode('x'.repeat(48)) }),
    expired: await make({ sub: 'alice', role: 'admin', expiresAt: Math.floor(Date.now() / 1000) - 60 }),
    HS512: await make({ sub: 'alice', role: 'admin', alg: 'HS512' }),
    'an unknown role': await make({ sub: 'alice', role: 'root' }),
    'a non-string role': await make({ sub: 'alice', role: ['admin'] }),
    'no sub': await make({ role: 'admin' }),
    'an empty sub': await make({ sub: '', role: 'admin' }),
    'a 201-character sub': await make({ sub: 'x'.repeat(201), role: 'admin' }),
    'a sub with a NUL': await make({ sub: 'alice\u0000', role: 'organizer' }),
  };
}

/** Authorization headers that must not let anyone in. */
const badAuthorizations: [name: string, header: (ctx: Ctx) => string | undefined][] = [
  ['no Authorization header', () => undefined],
  ['Basic credentials', () => 'Basic YWxpY2U6cGFzc3dvcmQ='],
  ['a token without the Bearer scheme', (ctx) => ctx.tokens.alice],
  ['another scheme', (ctx) => `Token ${ctx.tokens.alice}`],
  ['"Bearer" alone', () => 'Bearer'],
  ['"Bearer " and nothing', () => 'Bearer '],
  ['two spaces after Bearer', (ctx) => `Bearer  ${ctx.tokens.alice}`],
  ['a garbage token', () => 'Bearer garbage'],
  ['three empty-ish segments', () => 'Bearer a.b.c'],
  ['a token with a tampered signature', (ctx) => `Bearer ${ctx.tokens.alice}x`],
  ['a token with a control character', (ctx) => `Bearer ${ctx.tokens.alice}\u0001`],
  ['a 9,000-character token', () => `Bearer ${'a'.repeat(9000)}`],
  ['SQL as a token', () => `Bearer ${sqlStrings[0]}`],
  ...[
    'alg none',
    'another secret',
    'expired',
    'HS512',
    'an unknown role',
    'a non-string role',
    'no sub',
    'an empty sub',
    'a 201-character sub',
  ].map((name): [string, (ctx: Ctx) => string] => [`a token with ${name}`, (ctx) => `Bearer ${ctx.forged[name]}`]),
];

// ---------------------------------------------------------------------------------------
// The tables, route by route.

const organizerPost = { method: 'POST', url: '/v1/events', as: 'organizer' } as const;
const holdPost = { method: 'POST', url: '/v1/events/{event}/reservations', as: 'alice' } as const;
const confirmPost = { method: 'POST', url: '/v1/reservations/{reservation}/confirm', as: 'alice' } as const;

const createEventCases = (): Case[] => {
  const valid = eventBody();
  const validJson = JSON.stringify(valid);
  const event = (name: string, body: unknown, expect: number | number[] = 400, code?: string): Case => ({
    ...organizerPost,
    name,
    body,
    expect,
    code,
  });
  const rawEvent = (name: string, raw: string, code = 'VALIDATION_FAILED'): Case => ({
    ...organizerPost,
    name,
    raw,
    expect: 400,
    code,
  });
  const seatMap = (sections: unknown) => withValue(valid, ['seat_map', 'sections'], sections);
  const section = (index: number, rows: unknown = [{ label: '1', seats: 1 }]) => ({
    name: `S${index}`,
    price_tier: 'front',
    rows,
  });
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  return [
    ...eventFields.flatMap(([path, kind]) =>
      wrongValues[kind].map(([label, value]) =>
        event(`${path.join('.')} as ${label}`, withValue(valid, path, value), 400, 'VALIDATION_FAILED'),
      ),
    ),
    ...eventFields
      // max_seats_per_user may be left out: it defaults to 8.
      .filter(([path]) => path.length === 1 && path[0] !== 'max_seats_per_user')
      .map(([path]) => {
        const body = { ...valid } as Record<string, unknown>;
        delete body[path[0] as string];
        return event(`${path[0]} missing`, body, 400, 'VALIDATION_FAILED');
      }),
    // Numbers that JSON.stringify cannot write: sent as raw JSON text.
    rawEvent('max_seats_per_user as 1e400', validJson.replace('"max_seats_per_user":8', '"max_seats_per_user":1e400')),
    rawEvent('max_seats_per_user as -0', validJson.replace('"max_seats_per_user":8', '"max_seats_per_user":-0')),
    rawEvent(
      'max_seats_per_user as 2**53 + 1',
      validJson.replace('"max_seats_per_user":8', '"max_seats_per_user":9007199254740993'),
    ),
    rawEvent(
      'max_seats_per_user with a leading zero',
      validJson.replace('"max_seats_per_user":8', '"max_seats_per_user":08'),
      'MALFORMED_REQUEST',
    ),
    rawEvent('price_cents as 1e400', validJson.replace('"price_cents":10000', '"price_cents":1e400')),
    // Dates the date-time format lets through but no instant matches.
    event('starts_at as a leap second', withValue(valid, ['starts_at'], '2027-06-30T23:59:60Z'), 400),
    event('sale_opens_at as a leap second', withValue(valid, ['sale_opens_at'], '2026-06-30T23:59:60Z'), 400),
    event(
      'starts_at past year 9999 in UTC (9999-12-31T23:59:59-23:59)',
      withValue(valid, ['starts_at'], '9999-12-31T23:59:59-23:59'),
      400,
    ),
    // Time travel.
    event(
      'sale_opens_at after starts_at',
      { ...valid, starts_at: inDays(10), sale_opens_at: inDays(20) },
      400,
      'VALIDATION_FAILED',
    ),
    event('sale_opens_at equal to starts_at', { ...valid, sale_opens_at: valid.starts_at }, 400, 'VALIDATION_FAILED'),
    // Unknown fields, at every level.
    event('an unknown top-level field', { ...valid, admin: true }, 400, 'VALIDATION_FAILED'),
    event('an organizer_id of someone else', { ...valid, organizer_id: 'mallory' }, 400, 'VALIDATION_FAILED'),
    event('a chosen event_id', { ...valid, event_id: someUuid }, 400, 'VALIDATION_FAILED'),
    event('a chosen seat_count', { ...valid, seat_count: 1 }, 400, 'VALIDATION_FAILED'),
    event('an unknown venue field', withValue(valid, ['venue', 'country'], 'DE'), 400, 'VALIDATION_FAILED'),
    event('an unknown tier field', withValue(valid, ['price_tiers', 0, 'discount'], 100), 400, 'VALIDATION_FAILED'),
    event('an unknown seat_map field', withValue(valid, ['seat_map', 'floors'], []), 400, 'VALIDATION_FAILED'),
    event(
      'an unknown section field',
      withValue(valid, ['seat_map', 'sections', 0, 'capacity'], 5),
      400,
      'VALIDATION_FAILED',
    ),
    event(
      'an unknown row field',
      withValue(valid, ['seat_map', 'sections', 0, 'rows', 0, 'vip'], true),
      400,
      'VALIDATION_FAILED',
    ),
    event('a section rank of 0', withValue(valid, ['seat_map', 'sections', 0, 'rank'], 0), 400, 'VALIDATION_FAILED'),
    event(
      'a section rank as a string',
      withValue(valid, ['seat_map', 'sections', 0, 'rank'], 'first'),
      400,
      'VALIDATION_FAILED',
    ),
    event(
      'accessible seats as a string',
      withValue(valid, ['seat_map', 'sections', 0, 'rows', 0, 'accessible'], '1,2'),
      400,
      'VALIDATION_FAILED',
    ),
    event(
      'an accessible seat 0',
      withValue(valid, ['seat_map', 'sections', 0, 'rows', 0, 'accessible'], [0]),
      400,
      'VALIDATION_FAILED',
    ),
    // Seat maps that are well typed and still wrong.
    event(
      'an accessible seat past the end of its row',
      withValue(valid, ['seat_map', 'sections', 0, 'rows', 0, 'accessible'], [99]),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      'an accessible seat listed twice',
      withValue(valid, ['seat_map', 'sections', 0, 'rows', 0, 'accessible'], [1, 1]),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      'a seat both accessible and a companion',
      withValue(
        withValue(valid, ['seat_map', 'sections', 0, 'rows', 0, 'accessible'], [1]),
        ['seat_map', 'sections', 0, 'rows', 0, 'companion'],
        [1],
      ),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      'a section naming an unknown tier',
      withValue(valid, ['seat_map', 'sections', 0, 'price_tier'], 'gold'),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      'a section naming a tier in SQL',
      withValue(valid, ['seat_map', 'sections', 0, 'price_tier'], sqlStrings[1]),
      400,
      'INVALID_SEAT_MAP',
    ),
    ...unicodeStrings.map(([label, text]) =>
      event(
        `a section naming a tier with ${label}`,
        withValue(valid, ['seat_map', 'sections', 0, 'price_tier'], text),
        400,
        'INVALID_SEAT_MAP',
      ),
    ),
    event('duplicate price tier ids', withValue(valid, ['price_tiers', 1, 'id'], 'front'), 400, 'INVALID_SEAT_MAP'),
    event('tiers in two currencies', withValue(valid, ['price_tiers', 1, 'currency'], 'EUR'), 400, 'INVALID_SEAT_MAP'),
    event(
      'duplicate section names',
      withValue(valid, ['seat_map', 'sections', 1, 'name'], 'A'),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      'duplicate row labels',
      withValue(valid, ['seat_map', 'sections', 0, 'rows', 1, 'label'], '1'),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      'a row over the per-row maximum (5,001 seats)',
      withValue(valid, ['seat_map', 'sections', 0, 'rows', 0, 'seats'], 5001),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      'a row over the schema maximum (100,001 seats)',
      withValue(valid, ['seat_map', 'sections', 0, 'rows', 0, 'seats'], 100_001),
      400,
      'VALIDATION_FAILED',
    ),
    event(
      'more seats than an event may have (41 × 5,000)',
      seatMap([
        section(
          0,
          Array.from({ length: 41 }, (_, row) => ({ label: String(row), seats: 5000 })),
        ),
      ]),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      '1,001 rows in a section',
      seatMap([
        section(
          0,
          Array.from({ length: 1001 }, (_, row) => ({ label: String(row), seats: 1 })),
        ),
      ]),
      400,
      'INVALID_SEAT_MAP',
    ),
    event(
      '100,000 rows in a section',
      seatMap([
        section(
          0,
          Array.from({ length: 100_000 }, (_, row) => ({ label: String(row), seats: 1 })),
        ),
      ]),
      400,
      'VALIDATION_FAILED',
    ),
    event('501 sections', seatMap(Array.from({ length: 501 }, (_, index) => section(index))), 400, 'INVALID_SEAT_MAP'),
    event(
      '20,000 sections',
      seatMap(Array.from({ length: 20_000 }, (_, index) => section(index))),
      400,
      'VALIDATION_FAILED',
    ),
    event(
      '100,000 price tiers',
      withValue(
        valid,
        ['price_tiers'],
        Array.from({ length: 100_000 }, (_, index) => ({
          id: `t${index}`,
          name: 'T',
          price_cents: 1,
          currency: 'USD',
        })),
      ),
      400,
      'VALIDATION_FAILED',
    ),
    // A string that cannot be stored as it was sent: a lone surrogate, written as an
    // escape in the raw JSON text (JSON.stringify would write it the same way).
    rawEvent('a name that is a lone high surrogate', validJson.replace('"name":"Test Concert"', '"name":"\\ud800"')),
    rawEvent(
      'a venue city that is a lone low surrogate',
      validJson.replace('"city":"Berlin"', '"city":"Ber\\udc00lin"'),
    ),
    // Who may create events.
    { ...organizerPost, name: 'a customer token', as: 'alice', body: valid, expect: 403, code: 'FORBIDDEN' },
    ...badAuthorizations.map(([name, header]): Case => ({
      ...organizerPost,
      name,
      authorization: header,
      body: valid,
      expect: 401,
    })),
    ...unparseableBodies(organizerPost, validJson, 8),
  ];
};

/** Best available asked wrongly: refused before anything is chosen. */
const bestAvailableCases = (): Case[] => {
  const best = (name: string, body: unknown, expect = 400, code = 'VALIDATION_FAILED'): Case => ({
    ...holdPost,
    name: `best available: ${name}`,
    body,
    expect,
    code,
  });
  const ask = (request: unknown) => ({ best_available: request });
  return [
    best('as null', ask(null)),
    best('as an array', ask([2])),
    best('without a count', ask({})),
    best('a count of 0', ask({ count: 0 })),
    best('a negative count', ask({ count: -1 })),
    best('a fractional count', ask({ count: 1.5 })),
    best('a count as a string', ask({ count: '2' })),
    best('a count of 1,001', ask({ count: 1001 })),
    best('21 seats (over the per-hold maximum)', ask({ count: 21 }), 400, 'TOO_MANY_SEATS'),
    best('9 seats (over the per-buyer maximum of 8)', ask({ count: 9 }), 409, 'USER_SEAT_LIMIT_EXCEEDED'),
    best('an unknown field', ask({ count: 2, row: '1' })),
    best('seat ids as well', { ...ask({ count: 2 }), seat_ids: ['s5'] }),
    best('an unknown price tier', ask({ count: 2, price_tier: 'gold' })),
    best('an unknown section', ask({ count: 2, section: sqlStrings[0] })),
    best('an empty section name', ask({ count: 2, section: '' })),
    best('accessible as a string', ask({ count: 2, accessible: 'yes' })),
    best('together as null', ask({ count: 2, together: null })),
  ];
};

const holdCases = (): Case[] => {
  const hold = (name: string, seatIds: unknown, expect: number | number[] = 400, code?: string): Case => ({
    ...holdPost,
    name,
    body: { seat_ids: seatIds },
    expect,
    code,
  });
  const unknownSeat = (label: string, seatId: string) => hold(`seat id ${label}`, [seatId], 400, 'UNKNOWN_SEATS');
  return [
    hold('seat_ids as a string', 's5', 400, 'VALIDATION_FAILED'),
    hold('seat_ids as a number', 5, 400, 'VALIDATION_FAILED'),
    hold('seat_ids as null', null, 400, 'VALIDATION_FAILED'),
    hold('seat_ids as true', true, 400, 'VALIDATION_FAILED'),
    hold('seat_ids as an object', { s5: true }, 400, 'VALIDATION_FAILED'),
    hold('seat_ids empty', [], 400, 'VALIDATION_FAILED'),
    hold('a seat id as a number', [5], 400, 'VALIDATION_FAILED'),
    hold('a seat id as null', [null], 400, 'VALIDATION_FAILED'),
    hold('a seat id as false', [false], 400, 'VALIDATION_FAILED'),
    hold('a seat id as an array', [['s5']], 400, 'VALIDATION_FAILED'),
    hold('a seat id as an object', [{ seat_id: 's5' }], 400, 'VALIDATION_FAILED'),
    hold('an empty seat id', [''], 400, 'VALIDATION_FAILED'),
    hold('a 33-character seat id', ['s'.repeat(33)], 400, 'VALIDATION_FAILED'),
    hold('a 100,000-character seat id', ['s'.repeat(100_000)], 400, 'VALIDATION_FAILED'),
    hold(
      '100,000 seat ids',
      Array.from({ length: 100_000 }, (_, index) => `s${index}`),
      400,
      'VALIDATION_FAILED',
    ),
    hold(
      '1,001 seat ids',
      Array.from({ length: 1001 }, (_, index) => `s${index}`),
      400,
      'VALIDATION_FAILED',
    ),
    hold(
      '21 seat ids (over the per-hold maximum)',
      Array.from({ length: 21 }, (_, i) => `s${i + 10}`),
      400,
      'TOO_MANY_SEATS',
    ),
    hold('the same seat twice', ['s5', 's5'], 400, 'DUPLICATE_SEATS'),
    hold(
      '9 seats (over the per-buyer maximum of 8)',
      Array.from({ length: 9 }, (_, i) => `s${i + 10}`),
      409,
      'USER_SEAT_LIMIT_EXCEEDED',
    ),
    hold(
      '7 more seats on top of the 2 already held',
      Array.from({ length: 7 }, (_, i) => `s${i + 10}`),
      409,
      'USER_SEAT_LIMIT_EXCEEDED',
    ),
    ...bestAvailableCases(),
    { ...hold('a seat someone else holds', ['s5', 's0'], 409, 'SEAT_UNAVAILABLE'), as: 'bob' },
    { ...hold('a seat someone else booked', ['s5', 's2'], 409, 'SEAT_UNAVAILABLE'), as: 'bob' },
    unknownSeat('upper case', 'S5'),
    unknownSeat('with a leading zero', 's05'),
    unknownSeat('negative', 's-1'),
    unknownSeat('fractional', 's5.0'),
    unknownSeat('in exponent form', 's1e1'),
    unknownSeat('with a leading space', ' s5'),
    unknownSeat('just past the last seat', 's40'),
    unknownSeat('of 10 digits', 's9999999999'),
    unknownSeat('without the s', '5'),
    ...sqlStrings.map((text) => unknownSeat(`in SQL (${text})`, text)),
    ...unicodeStrings.map(([label, text]) => unknownSeat(`with ${label}`, text)),
    ...controlStrings.map(([label, text]) => hold(`a seat id with ${label}`, [text], 400, 'VALIDATION_FAILED')),
    {
      ...holdPost,
      name: 'a seat id that is a lone surrogate',
      raw: '{"seat_ids":["\\ud800"]}',
      expect: 400,
      code: 'VALIDATION_FAILED', // refused by the schema, like every unstorable string
    },
    {
      ...holdPost,
      name: 'a user_id field for someone else',
      body: { seat_ids: ['s5'], user_id: 'bob' },
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      ...holdPost,
      name: 'an expires_at field',
      body: { seat_ids: ['s5'], expires_at: '2099-01-01T00:00:00Z' },
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    ...badAuthorizations.map(([name, header]): Case => ({
      ...holdPost,
      name,
      authorization: header,
      body: { seat_ids: ['s5'] },
      expect: 401,
    })),
    ...unparseableBodies(holdPost, '{"seat_ids":["s5"]}', 1),
  ];
};

const confirmCases = (): Case[] => {
  const valid = { payment_method: 'pm_card_visa' };
  const confirm = (name: string, body: unknown, expect: number | number[] = 400, code?: string): Case => ({
    ...confirmPost,
    name,
    body,
    expect,
    code,
  });
  const key = (name: string, idempotencyKey: string | null): Case => ({
    ...confirmPost,
    name: `an Idempotency-Key ${name}`,
    body: valid,
    idempotencyKey,
    expect: 400,
    code: 'IDEMPOTENCY_KEY_REQUIRED',
  });
  return [
    confirm('payment_method as null', { payment_method: null }, 400, 'VALIDATION_FAILED'),
    confirm('payment_method as a number', { payment_method: 4242 }, 400, 'VALIDATION_FAILED'),
    confirm('payment_method as true', { payment_method: true }, 400, 'VALIDATION_FAILED'),
    confirm('payment_method as an object', { payment_method: { card: 'visa' } }, 400, 'VALIDATION_FAILED'),
    confirm('payment_method as an array', { payment_method: ['pm_card_visa'] }, 400, 'VALIDATION_FAILED'),
    confirm('payment_method empty', { payment_method: '' }, 400, 'VALIDATION_FAILED'),
    confirm('payment_method of 101 characters', { payment_method: 'p'.repeat(101) }, 400, 'VALIDATION_FAILED'),
    ...controlStrings.map(([label, text]) =>
      confirm(`payment_method with ${label}`, { payment_method: text }, 400, 'VALIDATION_FAILED'),
    ),
    confirm('payment_method missing', {}, 400, 'VALIDATION_FAILED'),
    confirm('an amount_cents field', { ...valid, amount_cents: 0 }, 400, 'VALIDATION_FAILED'),
    confirm('a reservation_id field', { ...valid, reservation_id: someUuid }, 400, 'VALIDATION_FAILED'),
    // A well-formed confirm that is still not yours to make.
    { ...confirm("someone else's reservation", valid, 404, 'RESERVATION_NOT_FOUND'), as: 'bob' },
    ...[...sqlStrings, ...unicodeStrings.map(([, text]) => text)].map((text) => ({
      ...confirm(
        `a payment_method of ${JSON.stringify(text)} for someone else's reservation`,
        { payment_method: text },
        404,
      ),
      as: 'bob' as const,
    })),
    key('missing', null),
    key('that is empty', ''),
    key('that is a space', ' '),
    key('with a space inside', 'a b'),
    key('of 256 characters', 'k'.repeat(256)),
    key('of 300 characters', 'k'.repeat(300)),
    key('with a tab', 'a\tb'),
    key('with a NUL', 'a\u0000b'),
    key('with a bell', 'a\u0007b'),
    key('with a DEL', 'a\u007fb'),
    key('in Latin-1 (ÿ)', 'clé-ÿ'),
    ...sqlStrings.map((text) => key(`in SQL (${text})`, text)),
    ...badAuthorizations.map(([name, header]): Case => ({
      ...confirmPost,
      name,
      authorization: header,
      body: valid,
      expect: 401,
    })),
    ...unparseableBodies(confirmPost, JSON.stringify(valid), 1),
  ];
};

/** Every route with an id in its path, with a request that would succeed for the right id. */
const idRoutes: { route: string; method: Case['method']; url: string; body?: unknown }[] = [
  { route: 'GET /v1/events/{id}', method: 'GET', url: '/v1/events/{id}' },
  { route: 'GET /v1/events/{id}/seats', method: 'GET', url: '/v1/events/{id}/seats' },
  {
    route: 'POST /v1/events/{id}/reservations',
    method: 'POST',
    url: '/v1/events/{id}/reservations',
    body: { seat_ids: ['s5'] },
  },
  { route: 'POST /v1/events/{id}/queue', method: 'POST', url: '/v1/events/{id}/queue' },
  { route: 'GET /v1/events/{id}/queue/me', method: 'GET', url: '/v1/events/{id}/queue/me' },
  { route: 'GET /v1/events/{id}/queue/stream', method: 'GET', url: '/v1/events/{id}/queue/stream' },
  { route: 'GET /v1/reservations/{id}', method: 'GET', url: '/v1/reservations/{id}' },
  { route: 'DELETE /v1/reservations/{id}', method: 'DELETE', url: '/v1/reservations/{id}' },
  {
    route: 'POST /v1/reservations/{id}/confirm',
    method: 'POST',
    url: '/v1/reservations/{id}/confirm',
    body: { payment_method: 'pm_card_visa' },
  },
  { route: 'GET /v1/bookings/{id}', method: 'GET', url: '/v1/bookings/{id}' },
];

/** [name, the id as it goes into the URL, the right statuses] */
const badIds: [string, string, number | number[]][] = [
  ['a non-uuid id', 'not-a-uuid', 404],
  ['an unknown uuid', someUuid, 404],
  ['a uuid with trailing junk', `${someUuid}x`, 404],
  ['a 101-character id', 'i'.repeat(101), [400, 404]],
  ['a 5,000-character id', 'i'.repeat(5000), [404, 414]],
  ['an invalid percent-encoding', '%ZZ', [400, 404]],
  ['a percent-encoded lone surrogate', '%ED%A0%80', [400, 404]],
  ['a percent-encoded NUL', '%00', 404],
  ['percent-encoded ../', '..%2F..%2F..%2Fetc%2Fpasswd', 404],
  ['SQL', encodeURIComponent(sqlStrings[0]!), 404],
  ['SQL with quotes', encodeURIComponent(sqlStrings[1]!), 404],
  ['an emoji', encodeURIComponent('🎟️'), 404],
  ['right-to-left text', encodeURIComponent('مقعد\u202e'), 404],
];

const pathIdCases = (): Case[] =>
  idRoutes.flatMap(({ route, method, url, body }) => [
    ...badIds.map(([name, id, expect]): Case => ({
      name: `${route} with ${name}`,
      method,
      url: url.replace('{id}', id),
      body,
      expect,
    })),
    {
      name: `${route} with ../ in the path`,
      method,
      url: `${url.replace('{id}', '..')}/../..`,
      body,
      expect: 404,
    },
  ]);

const crossIdCases = (): Case[] => [
  // Real ids of the wrong kind, or of someone else.
  { name: 'an event id used as a reservation id', method: 'GET', url: '/v1/reservations/{event}', expect: 404 },
  { name: 'a booking id used as an event id', method: 'GET', url: '/v1/events/{booking}', expect: 404 },
  { name: 'a reservation id used as a booking id', method: 'GET', url: '/v1/bookings/{reservation}', expect: 404 },
  {
    name: "someone else's reservation",
    method: 'GET',
    url: '/v1/reservations/{reservation}',
    as: 'bob',
    expect: 404,
  },
  {
    name: "cancelling someone else's reservation",
    method: 'DELETE',
    url: '/v1/reservations/{reservation}',
    as: 'bob',
    expect: 404,
  },
  { name: "someone else's booking", method: 'GET', url: '/v1/bookings/{booking}', as: 'bob', expect: 404 },
  ...[
    ['GET', '/v1/reservations/{reservation}'],
    ['DELETE', '/v1/reservations/{reservation}'],
    ['GET', '/v1/bookings/{booking}'],
  ].flatMap(([method, url]) =>
    badAuthorizations.map(([name, header]): Case => ({
      name: `${method} ${url} with ${name}`,
      method: method as Case['method'],
      url: url!,
      authorization: header,
      expect: 401,
    })),
  ),
];

const queryCases = (): Case[] => {
  const list = (query: string, name = query): Case => ({
    name: `?${name}`,
    method: 'GET',
    url: `/v1/events?${query}`,
    expect: 400,
    code: 'VALIDATION_FAILED',
  });
  const uuid = someUuid;
  return [
    list('limit=abc'),
    list('limit=-1'),
    list('limit=0'),
    list('limit=0.5'),
    list('limit=101'),
    list('limit=1e308'),
    list('limit=99999999999999999999'),
    list('limit='),
    list('limit=true'),
    list('limit=5&limit=6'),
    list('cursor='),
    list('cursor=garbage'),
    list('cursor=!!'),
    list('cursor=%00'),
    list(`cursor=${'A'.repeat(201)}`, 'cursor of 201 characters'),
    list(`cursor=${cursorOf([])}`, 'cursor encoding []'),
    list(`cursor=${cursorOf({ a: 1 })}`, 'cursor encoding an object'),
    list(`cursor=${cursorOf([1.5, uuid])}`, 'cursor with a fractional time'),
    list(`cursor=${cursorOf(['0', uuid])}`, 'cursor with a string time'),
    list(`cursor=${cursorOf([0, 'not-a-uuid'])}`, 'cursor with a non-uuid id'),
    list(`cursor=${cursorOf([0, "'; DROP TABLE seats; --"])}`, 'cursor with SQL for an id'),
    list(`cursor=${cursorOf([0, '-'.repeat(36)])}`, 'cursor whose id is 36 dashes'),
    list(`cursor=${cursorOf([0, 'f'.repeat(36)])}`, 'cursor whose id is 36 hex digits'),
    list(`cursor=${cursorOf([Number.MAX_SAFE_INTEGER, uuid])}`, 'cursor with time 2**53-1 (past year 275760)'),
    list(`cursor=${cursorOf([-Number.MAX_SAFE_INTEGER, uuid])}`, 'cursor with time -(2**53-1)'),
    list('from=not-a-date'),
    list('from=yesterday'),
    list('from=2027-13-45T99:00:00Z'),
    list('from='),
    list('from=2027-01-01T10:00:00', 'from without an offset'),
    list('to=tomorrow'),
    list('from=2027-03-05T00:00:00Z&to=2027-03-01T00:00:00Z', 'to before from'),
    list('q='),
    list('q=%00'),
    list(`q=${'q'.repeat(201)}`, 'q of 201 characters'),
    list('q=a&q=b'),
    list('city=%07'),
    list('category=%1B%5B2J'),
    list(`city=${'c'.repeat(101)}`, 'city of 101 characters'),
    list('admin=true'),
    list('organizer_id=mallory'),
  ];
};

/** Hostile text that is nevertheless a valid search: matched literally, found nowhere. */
const harmlessQueries: [name: string, query: string, expect: number[]][] = [
  ...[...sqlStrings, "' OR 1=1 --", '%', '_', '\\', ...unicodeStrings.map(([, text]) => text)].flatMap(
    (text): [string, string, number[]][] => [
      [`q=${JSON.stringify(text)}`, `q=${encodeURIComponent(text)}`, [200]],
      [`city=${JSON.stringify(text)}`, `city=${encodeURIComponent(text)}`, [200]],
      [`category=${JSON.stringify(text)}`, `category=${encodeURIComponent(text)}`, [200]],
    ],
  ),
  // Date-times the format admits at the edge of what an instant can be: an empty page or
  // a 400 are both right, an error is not.
  ['from at a leap second', 'from=2026-06-30T23:59:60Z', [200, 400]],
  ['to at a leap second', 'to=2026-12-31T23:59:60Z', [200, 400]],
  ['from in year 0000', 'from=0000-01-01T00:00:00Z', [200, 400]],
  ['to past year 9999 in UTC', 'to=9999-12-31T23:59:59-23:59', [200, 400]],
];

const devTokenCases = (): Case[] => {
  const route = { method: 'POST', url: '/v1/dev/token', as: 'anonymous' } as const;
  const mint = (name: string, body: unknown): Case => ({
    ...route,
    name,
    body,
    expect: 400,
    code: 'VALIDATION_FAILED',
  });
  return [
    ...wrongValues.text.map(([label, value]) => mint(`user_id as ${label}`, { user_id: value })),
    mint('user_id of 201 characters', { user_id: 'u'.repeat(201) }),
    mint('user_id missing', { role: 'admin' }),
    {
      ...route,
      name: 'user_id that is a lone surrogate',
      raw: '{"user_id":"\\ud800"}',
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    ...(
      ['root', 'ADMIN', 'Admin', ' admin', '', sqlStrings[0], null, 1, true, ['admin'], { admin: true }] as unknown[]
    ).map((role) => mint(`role ${JSON.stringify(role)}`, { user_id: 'dana', role })),
    mint('an exp field', { user_id: 'dana', exp: 9_999_999_999 }),
    mint('a sub field', { user_id: 'dana', sub: 'root' }),
    ...unparseableBodies(route, '{"user_id":"dana","role":"admin"}', 1),
  ];
};

// ---------------------------------------------------------------------------------------

describe('bad input to every route', () => {
  let t: TestApp;
  let ctx: Ctx;
  let countsBefore: Record<string, number>;

  before(async () => {
    t = await startTestApp();
    const tokens = {
      alice: await t.token('alice'),
      bob: await t.token('bob'),
      organizer: await t.token('organizer-1', 'organizer'),
    };
    const eventId = await createEvent(t);
    // Alice holds s0 and s1 (the live reservation the barrage aims at) and has bought s2.
    const hold = async (seatIds: string[]) => {
      const response = await t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/reservations`,
        headers: auth(tokens.alice),
        payload: { seat_ids: seatIds },
      });
      assert.equal(response.statusCode, 201, response.body);
      return response.json().reservation_id as string;
    };
    const reservationId = await hold(['s0', 's1']);
    const bought = await hold(['s2']);
    const confirmed = await t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${bought}/confirm`,
      headers: { ...auth(tokens.alice), 'idempotency-key': 'setup-booking' },
      payload: { payment_method: 'pm_card_visa' },
    });
    assert.equal(confirmed.statusCode, 201, confirmed.body);
    ctx = { eventId, reservationId, bookingId: confirmed.json().booking_id, tokens, forged: await forgedTokens() };
    countsBefore = await tableCounts(t);
  });
  after(() => t?.close());

  test('when POST /v1/events gets wrong types, nulls, bad dates, unknown fields, huge maps or junk, then 4xx problems', () =>
    barrage(t, ctx, createEventCases()));

  test('when POST /v1/events/{id}/reservations gets bad seat ids, huge lists or junk bodies, then 4xx problems', () =>
    barrage(t, ctx, holdCases()));

  test('when POST /v1/reservations/{id}/confirm gets bad bodies or Idempotency-Keys, then 4xx problems', () =>
    barrage(t, ctx, confirmCases()));

  test('when a path id is not an id (junk, huge, percent-encoded, ../), then 4xx problems on every id route', () =>
    barrage(t, ctx, pathIdCases()));

  test("when a real id is of the wrong kind, someone else's, or the caller is not signed in, then 401/404", () =>
    barrage(t, ctx, crossIdCases()));

  test('when the validly signed token carries a sub with a NUL, then a 4xx, not a database error', () =>
    barrage(
      t,
      ctx,
      [
        { ...organizerPost, name: 'creating an event', body: eventBody() },
        { ...holdPost, name: 'holding a seat', body: { seat_ids: ['s5'] } },
        { ...confirmPost, name: 'confirming', body: { payment_method: 'pm_card_visa' } },
        { method: 'GET', url: '/v1/reservations/{reservation}', name: 'reading a reservation' },
        { method: 'GET', url: '/v1/me/bookings', name: 'listing bookings' },
      ].map((c): Case => ({
        ...c,
        method: c.method as Case['method'],
        name: `${c.name} with a token whose sub is "alice\\u0000"`,
        authorization: (ctx) => `Bearer ${ctx.forged['a sub with a NUL']}`,
        expect: [400, 401, 403, 404],
      })),
    ));

  test('when GET /v1/events gets a bad limit, cursor, date or unknown parameter, then 400 problems', () =>
    barrage(t, ctx, queryCases()));

  test('when search text looks like SQL or is exotic unicode, then it matches literally and nothing breaks', () =>
    barrage(
      t,
      ctx,
      harmlessQueries.map(([name, query, expect]) => ({
        name: `?${name}`,
        method: 'GET',
        url: `/v1/events?${query}`,
        as: 'anonymous',
        expect,
      })),
      (c, response) => {
        const label = describeResponse(c, response);
        const allowed = [c.expect].flat();
        assert.ok(allowed.includes(response.statusCode), `expected ${allowed.join(' or ')}: ${label}`);
        if (response.statusCode !== 200) return assertProblem(c, response);
        assert.match(String(response.headers['content-type']), /^application\/json/, label);
        const events = response.json().events as { name: string }[];
        if (/^\?(q|city|category)=/.test(c.name)) assert.deepEqual(events, [], `matched something: ${label}`);
      },
    ));

  test('when the barrage is over, then every table count is unchanged and the invariants hold', async () => {
    assert.deepEqual(await tableCounts(t), countsBefore, 'the bad input changed the database');
    assert.deepEqual(await checkInvariants(t), []);
    // And the reservation the barrage aimed at is still alice's, still active, untouched.
    const reservation = await t.app.inject({
      method: 'GET',
      url: `/v1/reservations/${ctx.reservationId}`,
      headers: auth(ctx.tokens.alice),
    });
    assert.equal(reservation.statusCode, 200);
    assert.equal(reservation.json().status, 'active');
    assert.deepEqual(
      reservation.json().seats.map((seat: { seat_id: string }) => seat.seat_id),
      ['s0', 's1'],
    );
  });
});

describe('bad input to the demo-mode token route', () => {
  let t: TestApp;
  let countsBefore: Record<string, number>;
  const ctx = { eventId: '', reservationId: '', bookingId: '', tokens: {}, forged: {} } as unknown as Ctx;

  before(async () => {
    // Demo mode is refused with DATABASE_URL: embedded on both passes.
    t = await startTestApp({ env: { AUTH_SECRET: '', DEMO_MODE: 'true', DATABASE_URL: '' } });
    countsBefore = await tableCounts(t);
  });
  after(() => t?.close());

  test('when POST /v1/dev/token gets bad user ids, unknown roles, extra claims or junk, then 4xx problems', () =>
    barrage(t, ctx, devTokenCases()));

  test('when the token barrage is over, then the database is unchanged', async () => {
    assert.deepEqual(await tableCounts(t), countsBefore);
  });
});
