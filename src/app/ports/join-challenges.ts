// The waiting room's door: a proof-of-work challenge a buyer's browser solves before it may
// join (an event's waiting_room.challenge). Times are epoch milliseconds.

/** What GET …/queue/challenge hands out: an ALTCHA (v2) challenge, as its solvers read it. */
export interface IssuedChallenge {
  parameters: {
    algorithm: string;
    nonce: string;
    salt: string;
    cost: number;
    keyLength: number;
    keyPrefix: string;
    keySignature?: string;
    /** Signed with the rest: the event whose door it opens, and until when (epoch ms). */
    data: { event_id: string; expires_at_ms: number };
  };
  signature: string;
}

/** Why a solution was refused; each is told to the caller (CHALLENGE_FAILED's detail). */
export type ChallengeRefusal =
  | 'missing'
  | 'malformed'
  /** The challenge is not one this service signed (or was altered). */
  | 'forged'
  /** The challenge is ours; the solution does not solve it. */
  | 'wrong'
  | 'other_event'
  | 'expired'
  | 'replayed';

/** A solution that checks out: its challenge's id and until when it could be used. */
export interface SolvedChallenge {
  challengeId: string;
  expiresAtMs: number;
}

/** Makes and checks challenges (signed: no state until a solution is spent). */
export interface JoinChallenges {
  issue(eventId: string, nowMs: number): Promise<IssuedChallenge>;
  /** A solution (the `altcha` string) checked against the signature, the work, the event and nowMs. */
  check(solution: string, eventId: string, nowMs: number): Promise<SolvedChallenge | ChallengeRefusal>;
}

/**
 * The challenges already used: each may open the door once. It lives where the waiting
 * room lives (Redis, shared by every process; or this process), and forgets a challenge
 * once it has expired anyway.
 */
export interface SpentChallenges {
  /** Marks the challenge used; false when it already was (a replay). Atomic. */
  spend(challengeId: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
  close(): Promise<void>;
}
