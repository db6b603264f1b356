// Sign-in tokens and admission tokens are kept apart in both directions: whatever the
// secrets, a token made for one is refused by the other.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { admissionAudience, JoseAdmissionTokens } from '../../src/adapters/tokens/jose-admission-tokens.ts';
import { createAuthenticator } from '../../src/http/plugins/auth.ts';

const secret = 'one-secret-for-both-kinds-of-token-0123456789';
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('sign-in and admission tokens', () => {
  const authenticator = createAuthenticator({ secret });
  const admissions = new JoseAdmissionTokens(secret);

  test('when an admission token is used to sign in, then it is refused', async () => {
    const admission = await admissions.sign({
      userId: 'buyer-1',
      eventId: 'event-1',
      expiresAtMs: Date.now() + 60_000,
    });
    assert.ok(await admissions.verify(admission, Date.now()), 'a valid admission');
    await assert.rejects(authenticator.verify(admission));
  });

  test('when a sign-in token carries the admission audience, even signed with the service secret, then it signs nobody in', async () => {
    const claims = { evt: 'event-1', role: 'customer' };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('buyer-1')
      .setAudience(admissionAudience)
      .setIssuedAt()
      .setExpirationTime(nowSeconds() + 600)
      .sign(new TextEncoder().encode(secret));
    await assert.rejects(authenticator.verify(token), /admission/);
  });

  test('when a sign-in token is sent as an admission token, then it admits nobody', async () => {
    const signIn = await authenticator.sign!({ id: 'buyer-1', role: 'customer' }, 600);
    assert.deepEqual(await authenticator.verify(signIn), { id: 'buyer-1', role: 'customer' });
    assert.equal(await admissions.verify(signIn, Date.now()), null);
    // Not even one made to look like an admission (audience, event) with the service secret.
    const lookalike = await new SignJWT({ evt: 'event-1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('buyer-1')
      .setAudience(admissionAudience)
      .setIssuedAt()
      .setExpirationTime(nowSeconds() + 600)
      .sign(new TextEncoder().encode(secret));
    assert.equal(await admissions.verify(lookalike, Date.now()), null);
  });
});
