// Authentication against a real identity provider's key set (AUTH_JWKS_URL), served by
// the test on 127.0.0.1, plus issuer and audience checks; the claims every sign-in token
// must carry (sub, exp, iat within its age limits, never the admission audience), with
// AUTH_SECRET and in demo mode.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { auth, eventBody, startTestApp, testSecret, type TestApp } from '../support/harness.ts';

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('identity provider with a JWKS', () => {
  let jwksServer: Server;
  let t: TestApp;
  let providerKey: CryptoKey;
  let strangerKey: CryptoKey;
  const issuer = 'https://idp.test';
  const audience = 'boxoffice';

  before(async () => {
    const provider = await generateKeyPair('ES256');
    const stranger = await generateKeyPair('ES256');
    providerKey = provider.privateKey;
    strangerKey = stranger.privateKey;
    const jwk: JWK = { ...(await exportJWK(provider.publicKey)), kid: 'provider-1', alg: 'ES256', use: 'sig' };
    jwksServer = createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    const { port } = jwksServer.address() as AddressInfo;
    t = await startTestApp({
      env: {
        AUTH_SECRET: '',
        AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        AUTH_ISSUER: issuer,
        AUTH_AUDIENCE: audience,
      },
    });
  });
  after(async () => {
    await t.close();
    jwksServer.close();
  });

  const sign = (
    claims: Record<string, unknown>,
    key = providerKey,
    options: { iss?: string; aud?: string | string[]; exp?: string | number | null; iat?: number | null } = {},
  ) => {
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'provider-1' })
      .setSubject(String(claims.sub ?? 'jwks-user'))
      .setIssuer(options.iss ?? issuer)
      .setAudience(options.aud ?? audience);
    if (options.iat !== null) jwt = jwt.setIssuedAt(options.iat);
    if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? '10m');
    return jwt.sign(key);
  };

  test("when the provider's token names an organizer, then the event is created for that sub", async () => {
    const token = await sign({ sub: 'org-from-idp', role: 'organizer' });
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(token),
      payload: eventBody(),
    });
    assert.equal(created.statusCode, 201, created.body);
    const url = `/v1/events/${created.json().event_id}`;
    const own = await t.app.inject({ method: 'GET', url, headers: auth(token) });
    assert.equal(own.json().organizer_id, 'org-from-idp');
    assert.match(String(own.headers['cache-control']), /private/, 'the own view is not for shared caches');
    const anyone = await t.app.inject({ method: 'GET', url });
    assert.equal(anyone.json().organizer_id, undefined, "the provider's subject is not shown to everyone");
  });

  test('when a token is signed by another key, for another audience or issuer, expired, without exp or iat, issued ahead or too long ago, also for the admission audience, or HS256, then 401', async () => {
    const organizer = await sign({ sub: 'org-2', role: 'organizer' });
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(organizer),
      payload: eventBody(),
    });
    const eventId = created.json().event_id;
    const tokens = {
      'another key': await sign({ sub: 'x' }, strangerKey),
      'another audience': await sign({ sub: 'x' }, providerKey, { aud: 'someone-else' }),
      'another issuer': await sign({ sub: 'x' }, providerKey, { iss: 'https://evil.test' }),
      expired: await sign({ sub: 'x' }, providerKey, { exp: '-1m' }),
      'no exp': await sign({ sub: 'x' }, providerKey, { exp: null }),
      'no iat': await sign({ sub: 'x' }, providerKey, { iat: null }),
      'iat an hour ahead': await sign({ sub: 'x' }, providerKey, {
        iat: nowSeconds() + 3600,
        exp: nowSeconds() + 7200,
      }),
      'iat two days ago': await sign({ sub: 'x' }, providerKey, { iat: nowSeconds() - 2 * 86_400 }),
      'the admission audience too': await sign({ sub: 'x' }, providerKey, {
        aud: [audience, 'boxoffice-admission'],
      }),
      hs256: await new SignJWT({ sub: 'x' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode('guessing-the-secret-is-not-a-plan-1234')),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/reservations`,
        headers: auth(token),
        payload: { seat_ids: ['s0'] },
      });
      assert.equal(response.statusCode, 401, name);
      assert.equal(response.json().code, 'UNAUTHENTICATED', name);
      assert.equal(response.headers['www-authenticate'], 'Bearer', name);
    }
    const customer = await sign({ sub: 'buyer-from-idp' });
    const held = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/reservations`,
      headers: auth(customer),
      payload: { seat_ids: ['s0'] },
    });
    assert.equal(held.statusCode, 201, 'no role claim means customer');
  });

  test('when an identity provider is configured, then there is no dev token route', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/v1/dev/token', payload: { user_id: 'x' } });
    assert.equal(response.statusCode, 404);
  });
});

// The claims rules with AUTH_SECRET (HS256): every token comes from the provider's secret,
// so only the claims can be wrong.
describe('sign-in token claims', () => {
  let t: TestApp;
  const secret = new TextEncoder().encode(testSecret);
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  /** A token signed with the server's own secret; null leaves a claim out. */
  const sign = (claims: { sub?: string | null; iat?: number | null; exp?: number | null; aud?: string | string[] }) => {
    let jwt = new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' });
    if (claims.sub !== null) jwt = jwt.setSubject(claims.sub ?? 'claims-user');
    if (claims.iat !== null) jwt = jwt.setIssuedAt(claims.iat ?? nowSeconds());
    if (claims.exp !== null) jwt = jwt.setExpirationTime(claims.exp ?? nowSeconds() + 600);
    if (claims.aud !== undefined) jwt = jwt.setAudience(claims.aud);
    return jwt.sign(secret);
  };
  const whoAmI = (token: string) => t.app.inject({ method: 'GET', url: '/v1/me/bookings', headers: auth(token) });
  const assertRefused = async (name: string, token: string, detail: RegExp) => {
    const response = await whoAmI(token);
    assert.equal(response.statusCode, 401, `${name}: ${response.body}`);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/, name);
    assert.equal(response.json().code, 'UNAUTHENTICATED', name);
    assert.match(response.json().detail, detail, name);
  };

  test('when a token has no exp, no iat or no sub, then 401 naming the missing claim', async () => {
    await assertRefused('no exp', await sign({ exp: null }), /"exp"/);
    await assertRefused('no iat', await sign({ iat: null }), /"iat"/);
    await assertRefused('no sub', await sign({ sub: null }), /"sub"/);
    assert.equal((await whoAmI(await sign({}))).statusCode, 200, 'all three: accepted');
  });

  test('when iat is further ahead than the clock skew, then 401; within the skew it is accepted', async () => {
    const skew = t.config.AUTH_CLOCK_SKEW_SECONDS;
    assert.equal(skew, 60);
    const now = nowSeconds();
    await assertRefused('an hour ahead', await sign({ iat: now + 3600, exp: now + 7200 }), /future/);
    await assertRefused('skew + 5 s ahead', await sign({ iat: now + skew + 5 }), /future/);
    const slightlyAhead = await whoAmI(await sign({ iat: now + 20 }));
    assert.equal(slightlyAhead.statusCode, 200, slightlyAhead.body);
  });

  test('when a token is older than AUTH_TOKEN_MAX_AGE_SECONDS, then 401 even though its exp is later', async () => {
    const maxAge = t.config.AUTH_TOKEN_MAX_AGE_SECONDS;
    assert.equal(maxAge, 24 * 3600);
    const now = nowSeconds();
    await assertRefused(
      'issued a day and a minute ago, valid for a year',
      await sign({ iat: now - maxAge - 60, exp: now + 365 * 86_400 }),
      /older than/,
    );
    const young = await whoAmI(await sign({ iat: now - maxAge + 60, exp: now + 365 * 86_400 }));
    assert.equal(young.statusCode, 200, young.body);
  });

  test('when a token carries the admission audience, then it is no sign-in token', async () => {
    await assertRefused('aud boxoffice-admission', await sign({ aud: 'boxoffice-admission' }), /admission/);
    await assertRefused('aud [x, boxoffice-admission]', await sign({ aud: ['x', 'boxoffice-admission'] }), /admission/);
    assert.equal((await whoAmI(await sign({ aud: 'some-api' }))).statusCode, 200, 'another audience is not checked');
  });
});

describe('demo mode tokens', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      env: { AUTH_SECRET: '', DEMO_MODE: 'true', DATABASE_URL: '', AUTH_TOKEN_MAX_AGE_SECONDS: '3600' },
    });
  });
  after(() => t.close());

  test('when POST /v1/dev/token mints a token, then it carries sub, iat and exp within the maximum age and works', async () => {
    const minted = await t.app.inject({
      method: 'POST',
      url: '/v1/dev/token',
      payload: { user_id: 'demo-organizer', role: 'organizer' },
    });
    assert.equal(minted.statusCode, 200, minted.body);
    const { token, expires_in: expiresIn } = minted.json();
    assert.equal(expiresIn, 3600, 'never longer than AUTH_TOKEN_MAX_AGE_SECONDS');
    const claims = decodeJwt(token);
    assert.equal(claims.sub, 'demo-organizer');
    assert.equal(typeof claims.iat, 'number');
    assert.equal(claims.exp, claims.iat! + 3600);
    assert.ok(Math.abs(claims.iat! - nowSeconds()) <= 5);
    assert.notEqual(claims.aud, 'boxoffice-admission');
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(token),
      payload: eventBody(),
    });
    assert.equal(created.statusCode, 201, created.body);
  });
});
