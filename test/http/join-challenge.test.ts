// The waiting room's door (DESIGN.md, "after the sale"): with an event's waiting_room.challenge
// on, joining needs a solved proof-of-work challenge; unsolved, malformed, wrong, expired and
// replayed solutions get 400 CHALLENGE_FAILED and no place in line.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type { Challenge } from 'altcha-lib/types';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { MemorySpentChallenges } from '../../src/adapters/memory/spent-challenges.ts';
import { admitDue } from '../../src/app/waiting-room.ts';
import { auth, createEvent, startTestApp, testDb, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const expiresSeconds = 300;
// A small cost: the tests solve many challenges (the default is measured in the benchmark).
const challengeEnv = { ALTCHA_MAX_NUMBER: '2000', ALTCHA_EXPIRES_SECONDS: String(expiresSeconds) };
const room = { enabled: true, admit_per_minute: 60, admission_window_seconds: 60, challenge: true };

interface Problem {
  code: string;
  reason?: string;
  detail: string;
}

/** Solves a challenge as a browser would (every counter from 0); the altcha payload. */
async function solve(challenge: Challenge): Promise<string> {
  const solution = await solveChallenge({ challenge, deriveKey });
  assert.ok(solution, 'the challenge has a solution');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
}

/** The solved key with its last byte changed: what a guess that matched only the prefix sends. */
const flipLastByte = (hex: string) =>
  hex.slice(0, -2) + (parseInt(hex.slice(-2), 16) ^ 1).toString(16).padStart(2, '0');

const base64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

describe(`the waiting room's door on ${testDb}`, () => {
  let t: TestApp;
  let clock: ManualClock;
  let eventId: string;
  let otherEventId: string;
  let openEventId: string;

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({ clock, env: challengeEnv });
    eventId = await createEvent(t, { waiting_room: room }, startMs);
    otherEventId = await createEvent(t, { waiting_room: room }, startMs);
    openEventId = await createEvent(t, { waiting_room: { ...room, challenge: false } }, startMs);
  });
  after(() => t.close());

  const challengeOf = async (app: TestApp = t, event = eventId): Promise<Challenge> => {
    const response = await app.app.inject({ method: 'GET', url: `/v1/events/${event}/queue/challenge` });
    assert.equal(response.statusCode, 200, response.body);
    return response.json();
  };
  const join = async (user: string, body?: unknown, event = eventId, app: TestApp = t) =>
    app.app.inject({
      method: 'POST',
      url: `/v1/events/${event}/queue`,
      headers: auth(await app.token(user)),
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const me = async (user: string, event = eventId) =>
    t.app.inject({ method: 'GET', url: `/v1/events/${event}/queue/me`, headers: auth(await t.token(user)) });
  const waiting = (event = eventId) => t.runtime.deps.waitingRoom.waitingCount(event);
  /** A refused join: 400 CHALLENGE_FAILED with this reason, and the user has no place. */
  const assertRefused = async (
    response: Awaited<ReturnType<typeof join>>,
    reason: string,
    user: string,
    event = eventId,
  ) => {
    assert.equal(response.statusCode, 400, response.body);
    assert.match(String(response.headers['content-type']), /application\/problem\+json/);
    const problem = response.json() as Problem;
    assert.equal(problem.code, 'CHALLENGE_FAILED');
    assert.equal(problem.reason, reason, problem.detail);
    assert.ok(problem.detail.length > 0);
    assert.equal((await me(user, event)).json().code, 'QUEUE_NOT_JOINED', `${user} has no place`);
  };

  test('when a challenge is asked for, then it is an ALTCHA challenge for the event, never cached, and 404 for no event', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/queue/challenge` });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['cache-control'], 'no-store');
    const challenge = response.json();
    assert.equal(challenge.parameters.algorithm, 'SHA-256');
    assert.equal(challenge.parameters.data.event_id, eventId);
    assert.equal(challenge.parameters.data.expires_at_ms, startMs + expiresSeconds * 1000);
    assert.match(challenge.signature, /^[0-9a-f]{64}$/);
    const second = await challengeOf();
    assert.notEqual(second.parameters.nonce, challenge.parameters.nonce, 'each challenge is new');
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/v1/events/00000000-0000-4000-8000-000000000000/queue/challenge',
    });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'EVENT_NOT_FOUND');
  });

  test('when the challenge is off, then joining needs no body, as before', async () => {
    const response = await join('open-1', undefined, openEventId);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().status, 'waiting');
    assert.equal(await waiting(openEventId), 1);
  });

  test('when a join brings no solution, then 400 CHALLENGE_FAILED (missing) and no place', async () => {
    const before = await waiting();
    await assertRefused(await join('unsolved-1'), 'missing', 'unsolved-1');
    await assertRefused(await join('unsolved-2', {}), 'missing', 'unsolved-2');
    assert.equal(await waiting(), before);
  });

  test('when the solution is malformed, forged, wrong or for another event, then 400 with the reason and no place', async () => {
    const before = await waiting();
    const challenge = await challengeOf();
    const solved = JSON.parse(Buffer.from(await solve(challenge), 'base64').toString());
    for (const [altcha, reason] of [
      ['not base64 at all!', 'malformed'],
      [base64('not json'), 'malformed'],
      [base64({ challenge }), 'malformed'],
      [base64({ challenge: { parameters: 'x', signature: 'y' }, solution: solved.solution }), 'malformed'],
      [base64({ challenge, solution: { counter: 'one', derivedKey: 'ab' } }), 'malformed'],
      [base64({ challenge, solution: { counter: -1, derivedKey: solved.solution.derivedKey } }), 'wrong'],
      [base64([1, 2]), 'malformed'],
      [base64(null), 'malformed'],
      // Forged: a cheaper prefix, or the challenge moved to another event, breaks the signature.
      [
        base64({ ...solved, challenge: { ...challenge, parameters: { ...challenge.parameters, keyPrefix: '00' } } }),
        'forged',
      ],
      [
        base64({
          ...solved,
          challenge: {
            ...challenge,
            parameters: { ...challenge.parameters, data: { event_id: otherEventId, expires_at_ms: 1 } },
          },
        }),
        'forged',
      ],
      [base64({ ...solved, challenge: { ...challenge, signature: '00'.repeat(32) } }), 'forged'],
      // Wrong: the signed challenge with a counter or key that does not solve it.
      [
        base64({ ...solved, solution: { ...solved.solution, derivedKey: flipLastByte(solved.solution.derivedKey) } }),
        'wrong',
      ],
      [base64({ ...solved, solution: { ...solved.solution, derivedKey: 'ab'.repeat(32) } }), 'wrong'],
      [await solve(await challengeOf(t, otherEventId)), 'other_event'],
    ] as const) {
      await assertRefused(await join('bad-1', { altcha }), reason, 'bad-1');
    }
    assert.equal(await waiting(), before);
    // The challenge those refusals were about is still good: none of them spent it.
    const good = await join('bad-1', { altcha: base64(solved) });
    assert.equal(good.statusCode, 200, good.body);
  });

  test('when the body is bad, then 400 (or 415), never 5xx, and no place', async () => {
    const before = await waiting();
    const token = await t.token('bad-body-1');
    const url = `/v1/events/${eventId}/queue`;
    for (const [payload, contentType] of [
      [JSON.stringify({ altcha: '' }), 'application/json'],
      [JSON.stringify({ altcha: 'x'.repeat(5000) }), 'application/json'],
      [JSON.stringify({ altcha: 'abc', extra: 1 }), 'application/json'],
      [JSON.stringify({ altcha: { nested: true } }), 'application/json'],
      [JSON.stringify({ altcha: ['a', 'b'] }), 'application/json'],
      [JSON.stringify({ altcha: 12345 }), 'application/json'],
      [JSON.stringify('altcha'), 'application/json'],
      [JSON.stringify([1]), 'application/json'],
      ['null', 'application/json'],
      ['{"altcha": ', 'application/json'],
      ['', 'application/json'],
      ['altcha=abc', 'application/x-www-form-urlencoded'],
      ['abc', 'text/plain'],
    ] as const) {
      const response = await t.app.inject({
        method: 'POST',
        url,
        headers: { ...auth(token), 'content-type': contentType },
        payload,
      });
      assert.ok([400, 415].includes(response.statusCode), `${payload}: ${response.statusCode} ${response.body}`);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/, payload);
    }
    assert.equal((await me('bad-body-1')).json().code, 'QUEUE_NOT_JOINED');
    assert.equal(await waiting(), before);
  });

  test('when a solved challenge comes with the join, then a place; sent again (replayed), then refused', async () => {
    const altcha = await solve(await challengeOf());
    const joined = await join('solver-1', { altcha });
    assert.equal(joined.statusCode, 200, joined.body);
    assert.equal(joined.json().status, 'waiting');
    const position = joined.json().position;
    assert.equal(typeof position, 'number');
    const before = await waiting();
    await assertRefused(await join('replayer-1', { altcha }), 'replayed', 'replayer-1');
    assert.equal(await waiting(), before);
    // The solver asking again keeps the place and needs no new solution; one sent is spent.
    const again = await join('solver-1');
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().position, position);
    const spare = await solve(await challengeOf());
    const withSolution = await join('solver-1', { altcha: spare });
    assert.equal(withSolution.json().position, position);
    await assertRefused(await join('replayer-2', { altcha: spare }), 'replayed', 'replayer-2');
    const withBadSolution = await join('solver-1', { altcha: 'garbage' });
    assert.equal(withBadSolution.json().code, 'CHALLENGE_FAILED', 'a solution sent is checked');
    assert.equal((await me('solver-1')).json().position, position, 'and the place is still held');
    assert.equal(await waiting(), before);
  });

  test('when two joins race with one solution, then exactly one gets a place', async () => {
    const altcha = await solve(await challengeOf());
    const answers = await Promise.all(['racer-1', 'racer-2', 'racer-3'].map((user) => join(user, { altcha })));
    assert.deepEqual(answers.map((answer) => answer.statusCode).sort(), [200, 400, 400]);
    for (const answer of answers.filter((answer) => answer.statusCode === 400)) {
      assert.equal(answer.json().reason, 'replayed');
    }
  });

  test('when the challenge has expired by the app clock, then refused; a fresh one still joins', async () => {
    const challenge = await challengeOf();
    const altcha = await solve(challenge);
    clock.advance(expiresSeconds * 1000);
    try {
      await assertRefused(await join('late-1', { altcha }), 'expired', 'late-1');
      const fresh = await join('late-1', { altcha: await solve(await challengeOf()) });
      assert.equal(fresh.statusCode, 200, fresh.body);
    } finally {
      clock.advance(1_000);
    }
  });

  test('when an admission lapsed, then joining again (a new place at the back) needs a new solution', async () => {
    const user = 'lapsed-1';
    assert.equal((await join(user, { altcha: await solve(await challengeOf()) })).statusCode, 200);
    let status = (await me(user)).json().status;
    for (let tick = 0; tick < 200 && status !== 'admitted'; tick += 1) {
      clock.advance(1_000);
      await admitDue(t.runtime.deps, t.runtime.deps.settings.admitter);
      status = (await me(user)).json().status;
    }
    assert.equal(status, 'admitted');
    clock.advance(room.admission_window_seconds * 1000 + 1_000);
    assert.equal((await me(user)).json().status, 'expired');
    const refused = await join(user);
    assert.equal(refused.statusCode, 400, refused.body);
    assert.equal(refused.json().reason, 'missing');
    assert.equal((await me(user)).json().status, 'expired', 'still no new place');
    const back = await join(user, { altcha: await solve(await challengeOf()) });
    assert.equal(back.statusCode, 200, back.body);
    assert.equal(back.json().status, 'waiting');
  });

  test('when the organizer turns the challenge on, then new joins need it; off again, then not', async () => {
    const organizer = await t.token('organizer-1', 'organizer');
    const patch = (challenge: boolean) =>
      t.app.inject({
        method: 'PATCH',
        url: `/v1/events/${openEventId}`,
        headers: auth(organizer),
        payload: { waiting_room: { enabled: true, challenge } },
      });
    assert.equal((await join('holder-1', undefined, openEventId)).statusCode, 200);
    try {
      assert.equal((await patch(true)).statusCode, 200);
      await assertRefused(await join('switch-1', undefined, openEventId), 'missing', 'switch-1', openEventId);
      assert.equal((await join('holder-1', undefined, openEventId)).statusCode, 200, 'a place held is kept');
    } finally {
      assert.equal((await patch(false)).statusCode, 200);
    }
    assert.equal((await join('switch-1', undefined, openEventId)).statusCode, 200);
  });

  test('when a second process serves the same database, then it takes the first one’s challenges once (Redis)', async (context) => {
    if (testDb !== 'postgres')
      return context.skip('the embedded default is one process: its used challenges are its own');
    const second = await startTestApp({ clock, env: challengeEnv, schema: t.schema });
    try {
      // The key made once and kept in the database: the second process checks the first's signatures.
      const fromFirst = await solve(await challengeOf(t));
      const used = await join('two-1', { altcha: fromFirst }, eventId, second);
      assert.equal(used.statusCode, 200, used.body);
      const replayed = await join('two-2', { altcha: fromFirst }, eventId, t);
      assert.equal(replayed.statusCode, 400);
      assert.equal(replayed.json().reason, 'replayed');
      const fromSecond = await solve(await challengeOf(second));
      assert.equal((await join('two-3', { altcha: fromSecond }, eventId, t)).statusCode, 200);
      const again = await join('two-4', { altcha: fromSecond }, eventId, second);
      assert.equal(again.json().reason, 'replayed');
      // Redis forgets a used challenge when it could no longer be used anyway.
      const nonce = (await challengeOf(second)).parameters.nonce;
      const challenge = await challengeOf(second);
      await join('two-5', { altcha: await solve(challenge) }, eventId, second);
      const redis = new Redis(t.config.REDIS_URL!);
      try {
        const ttlMs = await redis.pttl(`${t.config.REDIS_KEY_PREFIX}altcha:${challenge.parameters.nonce}`);
        assert.ok(ttlMs > 0 && ttlMs <= expiresSeconds * 1000, `expires with the challenge (${ttlMs} ms)`);
        assert.equal(await redis.exists(`${t.config.REDIS_KEY_PREFIX}altcha:${nonce}`), 0, 'an unused one: nothing');
      } finally {
        redis.disconnect();
      }
    } finally {
      await second.close();
    }
  });
});

describe('used challenges kept in this process', () => {
  test('when a used challenge has expired, then its record is purged as others are spent', async () => {
    const spent = new MemorySpentChallenges();
    assert.equal(await spent.spend('a', 1_000, 0), true);
    assert.equal(await spent.spend('b', 1_500, 10), true);
    assert.equal(await spent.spend('a', 1_000, 20), false, 'a replay');
    assert.equal(spent.size(), 2);
    assert.equal(await spent.spend('c', 2_600, 1_600), true);
    assert.equal(spent.size(), 1, 'a and b expired and were dropped');
    assert.equal(await spent.spend('c', 2_600, 1_700), false);
    await spent.close();
  });
});
