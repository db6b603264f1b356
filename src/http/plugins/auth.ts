// Bearer JWT authentication. The identity provider is trusted: HS256 with AUTH_SECRET, or
// RS256/ES256 keys from AUTH_JWKS_URL. In demo mode (DEMO_MODE=true, neither set) the
// server makes a random secret and mints tokens itself at POST /v1/dev/token.
//
// A sign-in token must carry sub, exp and iat; it is refused when its iat is further in
// the future than the clock skew, when it is older than the maximum age (whatever its exp
// says: a stolen long-lived token stops working), and when it is meant for the waiting
// room (the admission audience), which is not a sign-in.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { admissionAudience } from '../../adapters/tokens/jose-admission-tokens.ts';
import { DomainError } from '../../domain/errors.ts';

// staff: scans tickets at the door of the events its token's "events" claim lists.
export const roles = ['customer', 'organizer', 'admin', 'staff'] as const;
export type Role = (typeof roles)[number];

export interface User {
  id: string;
  role: Role;
  /** The token's email claim: where tickets and notices go. */
  email?: string;
  /** The token's events claim (staff: the events whose tickets they may check in). */
  events?: string[];
}

// An address a mail server accepts: one @, no spaces or control characters, 254 at most.
const emailPattern =
  /^[^\s@<>()\[\],;:"\\\u0000-\u001f\u007f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const eventsClaimMax = 100;

/** The optional claims, or why they are refused. */
function contactClaims(payload: Record<string, unknown>): Pick<User, 'email' | 'events'> {
  const claims: Pick<User, 'email' | 'events'> = {};
  if (payload.email !== undefined) {
    if (typeof payload.email !== 'string' || payload.email.length > 254 || !emailPattern.test(payload.email)) {
      throw new TokenRefused('its "email" is not an e-mail address');
    }
    claims.email = payload.email;
  }
  if (payload.events !== undefined) {
    const events = payload.events;
    if (!Array.isArray(events) || events.length > eventsClaimMax || !events.every((id) => typeof id === 'string')) {
      throw new TokenRefused(`its "events" is not a list of at most ${eventsClaimMax} event ids`);
    }
    claims.events = events as string[];
  }
  return claims;
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
  /**
   * Demo mode (DEMO_MODE=true): neither a secret nor JWKS; the server makes a random
   * secret and mints tokens. Never the fallback for a missing provider.
   */
  demo?: boolean;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** A token issued longer ago than this is refused (AUTH_TOKEN_MAX_AGE_SECONDS). */
  tokenMaxAgeSeconds?: number;
  /** How far iat may be ahead of this clock (AUTH_CLOCK_SKEW_SECONDS). */
  clockSkewSeconds?: number;
}

export interface Authenticator {
  verify(token: string): Promise<User>;
  /** Only in demo mode (and for tests with a shared secret); ttlSeconds is capped at the maximum age. */
  sign?(user: User, ttlSeconds: number): Promise<string>;
  demo: boolean;
  tokenMaxAgeSeconds: number;
}

const tokenMaxAgeSecondsDefault = 24 * 3600;
const clockSkewSecondsDefault = 60;

/** A token that verified but whose claims are not acceptable; the message says which. */
export class TokenRefused extends Error {}

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
  const demo = options.demo === true;
  if (demo === Boolean(options.secret || options.jwksUrl)) {
    throw new Error('assertion: an authenticator has exactly one of demo mode, a secret or a JWKS URL');
  }
  const secret = options.secret ?? (demo ? randomBytes(32).toString('base64url') : undefined);
  const hmacKey = secret ? new TextEncoder().encode(secret) : undefined;
  // Imported once: jose would otherwise import the raw secret on every verification,
  // which was a third of the CPU of a flash-sale hold.
  const hmacCryptoKey = hmacKey
    ? crypto.subtle.importKey('raw', hmacKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    : undefined;
  const verified = new VerifiedTokens(verifiedTokensMax);
  const jwks: JWTVerifyGetKey | undefined = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
  const tokenMaxAgeSeconds = options.tokenMaxAgeSeconds ?? tokenMaxAgeSecondsDefault;
  const clockSkewSeconds = options.clockSkewSeconds ?? clockSkewSecondsDefault;
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: jwks ? ['RS256', 'ES256'] : ['HS256'],
    requiredClaims: ['sub', 'exp', 'iat'],
  };
  return {
    demo,
    tokenMaxAgeSeconds,
    async verify(token) {
      const nowMs = Date.now();
      const known = verified.get(token, nowMs);
      if (known) return known;
      const { payload } = await jwtVerify(token, jwks ?? (await hmacCryptoKey!), {
        ...verifyOptions,
        currentDate: new Date(nowMs),
      }).catch((error: unknown) => {
        throw refusalOf(error);
      });
      const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
      if (audiences.includes(admissionAudience)) {
        throw new TokenRefused('it is an admission token (audience boxoffice-admission), not a sign-in');
      }
      // jose has checked exp and that sub, exp and iat are there (iat a number).
      const issuedAt = payload.iat!;
      const nowSeconds = nowMs / 1000;
      if (issuedAt > nowSeconds + clockSkewSeconds) throw new TokenRefused('its "iat" is in the future');
      if (nowSeconds - issuedAt > tokenMaxAgeSeconds) {
        throw new TokenRefused(`it is older than ${tokenMaxAgeSeconds} s (by its "iat"): sign in again`);
      }
      const role = payload.role ?? 'customer';
      if (typeof payload.sub !== 'string' || !subjectPattern.test(payload.sub)) {
        throw new TokenRefused('its "sub" is not a usable user id');
      }
      if (!roles.includes(role as Role)) throw new TokenRefused('its "role" is unknown');
      const user: User = { id: payload.sub, role: role as Role, ...contactClaims(payload) };
      verified.set(token, user, Math.min(payload.exp!, issuedAt + tokenMaxAgeSeconds) * 1000);
      return user;
    },
    sign: hmacKey
      ? (user, ttlSeconds) => {
          let jwt = new SignJWT({
            role: user.role,
            ...(user.email === undefined ? {} : { email: user.email }),
            ...(user.events === undefined ? {} : { events: user.events }),
          })
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject(user.id)
            .setIssuedAt();
          if (options.issuer) jwt = jwt.setIssuer(options.issuer);
          if (options.audience) jwt = jwt.setAudience(options.audience);
          return jwt.setExpirationTime(`${Math.min(ttlSeconds, tokenMaxAgeSeconds)}s`).sign(hmacKey);
        }
      : undefined,
  };
}

/**
 * What to tell the caller about a token jose refused: a missing or expired claim is
 * named (the client can act on it), anything about keys and signatures is not.
 */
function refusalOf(error: unknown): Error {
  if (error instanceof joseErrors.JWTExpired) return new TokenRefused('it has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return new TokenRefused(`it has no "${error.claim}" claim`);
    if (error.claim === 'iss' || error.claim === 'aud') {
      return new TokenRefused(`its "${error.claim}" is not accepted here`);
    }
  }
  return error instanceof Error ? error : new Error(String(error));
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
    } catch (error) {
      throw new DomainError(
        'UNAUTHENTICATED',
        error instanceof TokenRefused
          ? `the bearer token is refused: ${error.message}`
          : 'the bearer token is invalid or expired',
      );
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
