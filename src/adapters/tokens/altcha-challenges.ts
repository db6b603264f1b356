// The waiting room's door as ALTCHA proof-of-work challenges (altcha-lib, its v2 format).
//
// A challenge is made in deterministic mode: the server draws the answer (a counter between
// half of maxNumber and maxNumber), hashes it once (SHA-256 of salt | nonce | counter) and
// hands out the first half of that hash as the prefix to find, with an HMAC of the whole
// hash (keySignature) and an HMAC of every parameter (signature). A browser finds the
// counter by trying every number from 0, one hash each; the server checks a solution with
// two HMACs and no hashing work. Nothing is stored until a solution is spent.
//
// The event and the expiry ride in the signed parameters' data, and the expiry is judged
// by the app's clock (altcha-lib's own `expiresAt` would be judged by the system clock).
import { createHmac, randomInt } from 'node:crypto';
import { createChallenge, verifySolution } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type { Challenge, Solution } from 'altcha-lib/types';
import type {
  ChallengeRefusal,
  IssuedChallenge,
  JoinChallenges,
  SolvedChallenge,
} from '../../app/ports/join-challenges.ts';

export interface AltchaOptions {
  /** The master secret (ALTCHA_HMAC_KEY, or the one kept in the database). */
  secret: string;
  /** How long a challenge may be solved and used. */
  expiresMs: number;
  /** The cost: the counter to find is drawn from [maxNumber / 2, maxNumber]. */
  maxNumber: number;
}

const algorithm = 'SHA-256';

const derived = (secret: string, purpose: string) =>
  createHmac('sha256', secret).update(`boxoffice altcha ${purpose} v1`).digest('base64url');

export class AltchaJoinChallenges implements JoinChallenges {
  private readonly signatureSecret: string;
  private readonly keySignatureSecret: string;

  constructor(private readonly options: AltchaOptions) {
    if (options.maxNumber < 2 || options.maxNumber > 0xffffffff) {
      throw new Error('assertion: maxNumber within 2 … 2^32 - 1');
    }
    this.signatureSecret = derived(options.secret, 'challenges');
    this.keySignatureSecret = derived(options.secret, 'derived keys');
  }

  async issue(eventId: string, nowMs: number): Promise<IssuedChallenge> {
    const { maxNumber, expiresMs } = this.options;
    const challenge = await createChallenge({
      algorithm,
      cost: 1,
      counter: randomInt(Math.ceil(maxNumber / 2), maxNumber + 1),
      deriveKey,
      data: { event_id: eventId, expires_at_ms: nowMs + expiresMs },
      hmacSignatureSecret: this.signatureSecret,
      hmacKeySignatureSecret: this.keySignatureSecret,
    });
    return challenge as unknown as IssuedChallenge;
  }

  async check(text: string, eventId: string, nowMs: number): Promise<SolvedChallenge | ChallengeRefusal> {
    const payload = parsePayload(text);
    if (payload === null) return 'malformed';
    let verified: boolean;
    let forged: boolean | null;
    try {
      const result = await verifySolution({
        challenge: payload.challenge,
        solution: payload.solution,
        deriveKey,
        hmacSignatureSecret: this.signatureSecret,
        hmacKeySignatureSecret: this.keySignatureSecret,
      });
      verified = result.verified;
      forged = result.invalidSignature;
    } catch {
      return 'malformed'; // a shape the library could not read (never reached with a parsed payload)
    }
    if (forged) return 'forged';
    if (!verified) return 'wrong';
    // Signed by us: the data is ours.
    const data = payload.challenge.parameters.data ?? {};
    if (data.event_id !== eventId) return 'other_event';
    const expiresAtMs = data.expires_at_ms;
    if (typeof expiresAtMs !== 'number' || expiresAtMs <= nowMs) return 'expired';
    return { challengeId: payload.challenge.parameters.nonce, expiresAtMs };
  }
}

const hex = /^[0-9a-f]+$/;

/** The `altcha` field: base64 of {challenge, solution}; anything else is null. */
function parsePayload(text: string): { challenge: Challenge; solution: Solution } | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(value) || !isRecord(value.challenge) || !isRecord(value.solution)) return null;
  const { challenge, solution } = value;
  const parameters = challenge.parameters;
  if (!isRecord(parameters) || typeof challenge.signature !== 'string') return null;
  if (typeof parameters.nonce !== 'string' || !hex.test(parameters.nonce)) return null;
  if (typeof parameters.salt !== 'string' || !hex.test(parameters.salt)) return null;
  if (parameters.data !== undefined && !isRecord(parameters.data)) return null;
  if (!Number.isSafeInteger(solution.counter) || typeof solution.derivedKey !== 'string') return null;
  return value as unknown as { challenge: Challenge; solution: Solution };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
