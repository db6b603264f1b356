// Authentication against a real identity provider's key set (AUTH_JWKS_URL), served by
// the test on 127.0.0.1, plus issuer and audience checks.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { auth, eventBody, startTestApp, type TestApp } from '../support/harness.ts';

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
    options: { iss?: string; aud?: string; exp?: string } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'provider-1' })
      .setSubject(String(claims.sub ?? 'jwks-user'))
      .setIssuer(options.iss ?? issuer)
      .setAudience(options.aud ?? audience)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '10m')
      .sign(key);

  test("when the provider's token names an organizer, then the event is created for that sub", async () => {
    const token = await sign({ sub: 'org-from-idp', role: 'organizer' });
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(token),
      payload: eventBody(),
    });
    assert.equal(created.statusCode, 201, created.body);
    const detail = await t.app.inject({ method: 'GET', url: `/v1/events/${created.json().event_id}` });
    assert.equal(detail.json().organizer_id, 'org-from-idp');
  });

  test('when a token is signed by another key, for another audience or issuer, expired, or HS256, then 401', async () => {
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
