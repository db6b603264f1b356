// Used challenges in Redis, shared by every process: one key per challenge, set only if
// absent (SET NX), expiring with the challenge (PX): Redis forgets it when it could no
// longer be used anyway. A Redis failure is thrown: the door stays shut rather than open
// to replays (joining needs Redis too).
import type { RedisClient } from './client.ts';
import type { SpentChallenges } from '../../app/ports/join-challenges.ts';

export class RedisSpentChallenges implements SpentChallenges {
  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async spend(challengeId: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    const ttlMs = Math.max(1, expiresAtMs - nowMs);
    const set = await this.client.set(`${this.keyPrefix}altcha:${challengeId}`, '1', 'PX', ttlMs, 'NX');
    return set === 'OK';
  }

  async close(): Promise<void> {}
}
