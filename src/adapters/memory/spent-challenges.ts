// Used challenges in this process: with no Redis the waiting room itself lives in this
// process (and there is only one: WORKERS > 1 needs Redis), so a record of a used
// challenge needs to live no longer and be shared no wider than the places it opened.
// Challenges are spent in about the order they expire (every one lives as long from its
// issue), so expired ones are dropped from the front of the map (insertion order) as
// spends come in: a record outlives its challenge by at most one lifetime more.
import type { SpentChallenges } from '../../app/ports/join-challenges.ts';

export class MemorySpentChallenges implements SpentChallenges {
  private readonly spent = new Map<string, number>();

  async spend(challengeId: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    this.purge(nowMs);
    if (this.spent.has(challengeId)) return false;
    this.spent.set(challengeId, expiresAtMs);
    return true;
  }

  /** Records kept (for tests of the purge). */
  size(): number {
    return this.spent.size;
  }

  private purge(nowMs: number) {
    for (const [id, expiresAtMs] of this.spent) {
      if (expiresAtMs > nowMs) return;
      this.spent.delete(id);
    }
  }

  async close(): Promise<void> {
    this.spent.clear();
  }
}
