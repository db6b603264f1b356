// The waiting room's door: with an event's waiting_room.challenge on, a new place in line
// costs a solved proof-of-work challenge (GET …/queue/challenge, then the solution with
// the join). Cheap for one browser, dear for a farm of accounts: every account's place
// costs its own solve, and a solution opens the door once.
//
// The story of a join: the event → no solution sent? only someone who holds a place may
// ask again (a reload, a second tab: it costs them no new solve) → else the solution:
// signed by us, solved, for this event, unexpired → spent (a replay finds it spent) → join
// (which keeps a place already held). A solution sent is always checked and spent: the
// join that carries one, the usual one, costs no look-up of the line first.
import { DomainError } from '../domain/errors.ts';
import type { Deps } from './deps.ts';
import { requireEventOnSale } from './events.ts';
import type { EventRecord } from './ports/events.ts';
import type { ChallengeRefusal } from './ports/join-challenges.ts';
import { joinQueue } from './waiting-room.ts';

/** A challenge for this event's door (made whether or not the door is on: it costs one hash). */
export async function issueJoinChallenge(deps: Deps, eventId: string) {
  const event = await requireEventOnSale(deps, eventId);
  return deps.joinChallenges.issue(event.id, deps.clock.nowMs());
}

/**
 * Joins the line through the door: altcha is the solution, when the event asks for one;
 * email, where "it is your turn" is sent.
 */
export async function joinThroughDoor(
  deps: Deps,
  userId: string,
  eventId: string,
  altcha: string | undefined,
  email: string | null = null,
) {
  const event = await requireEventOnSale(deps, eventId);
  if (event.waitingRoom.enabled && event.waitingRoom.challenge) await passDoor(deps, event, userId, altcha);
  return joinQueue(deps, userId, eventId, email);
}

async function passDoor(deps: Deps, event: EventRecord, userId: string, altcha: string | undefined) {
  const nowMs = deps.clock.nowMs();
  if (altcha === undefined) {
    // A place already held is kept without a solve. An admission that lapsed (or a place
    // never held) would be a new place: that needs one.
    const [state] = await deps.waitingRoom.states(event.id, [userId], nowMs).catch(unavailable);
    if (state?.kind === 'waiting' || state?.kind === 'admitted') return;
    throw challengeFailed('missing', event.id);
  }
  const solved = await deps.joinChallenges.check(altcha, event.id, nowMs);
  if (typeof solved === 'string') throw challengeFailed(solved, event.id);
  const first = await deps.spentChallenges.spend(solved.challengeId, solved.expiresAtMs, nowMs).catch(unavailable);
  if (!first) throw challengeFailed('replayed', event.id);
}

const refusals: Record<ChallengeRefusal, string> = {
  missing:
    'this waiting room asks for a solved challenge: GET …/queue/challenge, solve it, and join with {"altcha": …}',
  malformed: 'the altcha solution is not a base64 JSON {challenge, solution} payload',
  forged: 'the altcha challenge was not issued by this service, or was altered',
  wrong: 'the altcha solution does not solve its challenge',
  other_event: 'the altcha challenge was issued for another event',
  expired: 'the altcha challenge has expired: get a new one',
  replayed: 'the altcha challenge was already used: get a new one',
};

function challengeFailed(reason: ChallengeRefusal, eventId: string): DomainError {
  return new DomainError('CHALLENGE_FAILED', refusals[reason], {
    reason,
    challenge: `/v1/events/${eventId}/queue/challenge`,
  });
}

/** Redis away: the door stays shut (a spend that cannot be recorded could be replayed). */
function unavailable(): never {
  throw new DomainError(
    'WAITING_ROOM_UNAVAILABLE',
    'the waiting room cannot answer right now; try again shortly',
    {},
    { retryAfterMs: 2_000 },
  );
}
