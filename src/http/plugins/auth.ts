// Bearer JWT authentication. The identity provider is trusted: HS256 with AUTH_SECRET, or
// RS256/ES256 keys from AUTH_JWKS_URL. In demo mode (neither set) the server makes a
// random secret and mints tokens itself at POST /v1/dev/token.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { DomainError } from '../../domain/errors.ts';

export const roles = ['customer', 'organizer', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface User {
  id: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: User | null;
  }
}

// A user id is stored as text: no control characters, no unpaired surrogates.
const subjectPattern = /^[^\u0000-\u001f\u007f\uD800-\uDFFF]{1,200}$/u;

export interface AuthOptions {
  secret?: string;
  /** Demo mode only: the secret to mint with instead of a fresh random one. */
  demoSecret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export interface Authenticator {
  verify(token: string): Promise<User>;
  /** Only in demo mode (and for tests with a shared secret). */
  sign?(user: User, ttlSeconds: number): Promise<string>;
  demo: boolean;
}

const verifiedTokensMax = 50_000;

/**
 * Tokens that passed verification, until their exp (a buyer sends the same token with
 * every request of a checkout). Only tokens with an exp are kept; when full, the oldest
 * entries go first.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { user: User; expiresAtMs: number }>();

  constructor(private readonly max: number) {}

  get(token: string, nowMs: number): User | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.expiresAtMs > nowMs) return entry.user;
    this.entries.delete(token);
    return undefined;
  }

  set(token: string, user: User, expiresAtMs: number): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { user, expiresAtMs });
  }
}

export function createAuthenticator(options: AuthOptions): Authenticator {
  const demo = !options.secret && !options.jwksUrl;
  const secret = options.secret ?? (demo ? (options.demoSecret ?? randomBytes(32).toString('base64url')) : undefined);
  const hmacKey = secret ? new TextEncoder().encode(secret) : undefined;
  // Imported once: jose would otherwise import the raw secret on every verification,
  // which was a third of the CPU of a flash-sale hold.
  const hmacCryptoKey = hmacKey
    ? crypto.subtle.importKey('raw', hmacKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    : undefined;
  const verified = new VerifiedTokens(verifiedTokensMax);
  const jwks: JWTVerifyGetKey | undefined = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: jwks ? ['RS256', 'ES256'] : ['HS256'],
  };
  return {
    demo,
    async verify(token) {
      const known = verified.get(token, Date.now());
      if (known) return known;
      const { payload } = jwks
        ? await jwtVerify(token, jwks, verifyOptions)
        : await jwtVerify(token, await hmacCryptoKey!, verifyOptions);
      const role = payload.role ?? 'customer';
      if (typeof payload.sub !== 'string' || !subjectPattern.test(payload.sub)) {
        throw new Error('token has no usable sub');
      }
      if (!roles.includes(role as Role)) throw new Error('token has an unknown role');
      const user = { id: payload.sub, role: role as Role };
      if (typeof payload.exp === 'number') verified.set(token, user, payload.exp * 1000);
      return user;
    },
    sign: hmacKey
      ? (user, ttlSeconds) => {
          let jwt = new SignJWT({ role: user.role })
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject(user.id)
            .setIssuedAt();
          if (options.issuer) jwt = jwt.setIssuer(options.issuer);
          if (options.audience) jwt = jwt.setAudience(options.audience);
          return jwt.setExpirationTime(`${ttlSeconds}s`).sign(hmacKey);
        }
      : undefined,
  };
}

export function registerAuth(app: FastifyInstance, authenticator: Authenticator) {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (header === undefined) return;
    const match = /^Bearer ([A-Za-z0-9_\-.]{1,8192})$/.exec(header);
    if (!match) throw new DomainError('UNAUTHENTICATED', 'Authorization must be "Bearer <token>"');
    try {
      request.user = await authenticator.verify(match[1]!);
    } catch {
      throw new DomainError('UNAUTHENTICATED', 'the bearer token is invalid or expired');
    }
  });
}

export function requireUser(request: FastifyRequest): User {
  if (!request.user) throw new DomainError('UNAUTHENTICATED', 'sign in: send Authorization: Bearer <token>');
  return request.user;
}

export function requireRole(request: FastifyRequest, ...allowed: Role[]): User {
  const user = requireUser(request);
  if (user.role !== 'admin' && !allowed.includes(user.role)) {
    throw new DomainError('FORBIDDEN', `this needs the ${allowed.join(' or ')} role`);
  }
  return user;
}

/**
 * A preValidation hook for routes that need a signed-in user (of one of these roles, if
 * given): the caller learns it is unauthenticated before it learns its body is wrong.
 */
export function signedIn(...allowed: Role[]) {
  return async (request: FastifyRequest) => {
    if (allowed.length > 0) requireRole(request, ...allowed);
    else requireUser(request);
  };
}
