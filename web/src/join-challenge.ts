// The waiting room's door: when an event's waiting_room.challenge is on, the page fetches
// a proof-of-work challenge and solves it in Web Workers (one per core, up to four; the
// page stays responsive) before it joins. The solution goes with the join as `altcha`.
import { solveChallengeWorkers } from 'altcha-lib';
import type { Challenge } from 'altcha-lib/types';
import { api, ApiError } from './api.ts';

export interface SolvedChallenge {
  /** What the join sends as `altcha`. */
  altcha: string;
  /** How long the browser took to solve it (the fetch not counted). */
  solveMs: number;
}

const workersMax = 4;
/** A solve that takes this long is given up (the challenge expires anyway). */
const solveTimeoutMs = 60_000;

export async function solveJoinChallenge(eventId: string): Promise<SolvedChallenge> {
  const challenge = await api<Challenge>(`/v1/events/${encodeURIComponent(eventId)}/queue/challenge`);
  const startedMs = performance.now();
  const solution = await solveChallengeWorkers({
    challenge,
    concurrency: Math.min(workersMax, Math.max(1, navigator.hardwareConcurrency || 1)),
    createWorker: () => new Worker(new URL('./altcha-worker.ts', import.meta.url), { type: 'module' }),
    timeout: solveTimeoutMs,
  });
  if (!solution) throw new Error('the browser check did not finish: try again');
  // For whoever measures the door's cost (the browser test prints it).
  const solve = performance.measure('boxoffice:challenge-solve', { start: startedMs, end: performance.now() });
  return {
    altcha: btoa(
      JSON.stringify({ challenge, solution: { counter: solution.counter, derivedKey: solution.derivedKey } }),
    ),
    solveMs: Math.round(solve.duration),
  };
}

const refusedAtTheDoor = (error: unknown) => error instanceof ApiError && error.code === 'CHALLENGE_FAILED';

/**
 * Joins the line: first as it is (a place already held is kept with no solve: a reload, a
 * second tab); refused at the door, it solves a challenge (onChecking tells the person) and
 * joins with it, once more with a new one if that one lapsed or was used meanwhile.
 */
export async function joinThroughDoor<T>(eventId: string, onChecking: () => void): Promise<T> {
  const path = `/v1/events/${encodeURIComponent(eventId)}/queue`;
  try {
    return await api<T>(path, { method: 'POST' });
  } catch (error) {
    if (!refusedAtTheDoor(error)) throw error;
  }
  for (let attempt = 1; ; attempt += 1) {
    onChecking();
    const { altcha } = await solveJoinChallenge(eventId);
    try {
      return await api<T>(path, { method: 'POST', body: { altcha } });
    } catch (error) {
      if (attempt >= 2 || !refusedAtTheDoor(error)) throw error;
    }
  }
}
