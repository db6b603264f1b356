// Admission tokens (the AdmissionTokens port) as JWTs: HS256 with their own audience and
// their own key, derived from the service secret, so one can never pass for a sign-in
// token or the other way round.
import { createHmac } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Admission, AdmissionTokens } from '../../app/ports/admission-tokens.ts';

/** The audience of admission tokens; a sign-in token carrying it is refused (see auth.ts). */
export const admissionAudience = 'boxoffice-admission';
const verifiedMax = 50_000;

export class JoseAdmissionTokens implements AdmissionTokens {
  private readonly key: Uint8Array<ArrayBuffer>;
  private readonly cryptoKey: Promise<CryptoKey>;
  /** Tokens that passed verification, until they expire (a buyer sends one with every step). */
  private readonly verified = new Map<string, Admission>();

  constructor(secret: string) {
    this.key = new Uint8Array(createHmac('sha256', secret).update('boxoffice admission tokens v1').digest());
    this.cryptoKey = crypto.subtle.importKey('raw', this.key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  }

  /** A token for the admission, expiring with it (whole seconds, rounded down). */
  sign(admission: Admission): Promise<string> {
    return new SignJWT({ evt: admission.eventId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(admission.userId)
      .setAudience(admissionAudience)
      .setExpirationTime(Math.floor(admission.expiresAtMs / 1000))
      .sign(this.key);
  }

  /** The admission the token proves at nowMs, or null (forged, expired or malformed). */
  async verify(token: string, nowMs: number): Promise<Admission | null> {
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAtMs > nowMs) return known;
      this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, await this.cryptoKey, {
        audience: admissionAudience,
        algorithms: ['HS256'],
        currentDate: new Date(nowMs),
        clockTolerance: 0,
      });
      if (typeof payload.sub !== 'string' || typeof payload.evt !== 'string' || typeof payload.exp !== 'number') {
        return null;
      }
      const admission = { userId: payload.sub, eventId: payload.evt, expiresAtMs: payload.exp * 1000 };
      if (this.verified.size >= verifiedMax) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, admission);
      return admission;
    } catch {
      return null;
    }
  }
}
