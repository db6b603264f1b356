// The expiry sweeper, on the real clock: abandoned holds are finalized and their seat
// rows cleared within 2 s of expiry, with two sweepers working the same database.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { PostgresIdempotencyStore } from '../../src/adapters/postgres/idempotency-store.ts';
import { PostgresReservationStore } from '../../src/adapters/postgres/reservation-store.ts';
import { connectPostgres, type Database } from '../../src/adapters/postgres/database.ts';
import { systemClock } from '../../src/adapters/clock/system-clock.ts';
import { expireDueHolds, startSweeper, type Sweeper } from '../../src/app/expire-holds.ts';
import { auth, createEvent, postgresUrl, startTestApp, testDb, type TestApp } from '../support/harness.ts';

describe(`expiry sweeper on ${testDb}`, () => {
  let t: TestApp;
  let secondDb: Database | undefined;
  const sweepers: Sweeper[] = [];

  before(async () => {
    t = await startTestApp({ env: { HOLD_TTL_SECONDS: '1' } });
    const stores = [{ reservations: t.runtime.deps.reservations, idempotency: t.runtime.deps.idempotency }];
    if (testDb === 'postgres') {
      // A second process's sweeper: its own pool on the same schema.
      secondDb = connectPostgres({ url: postgresUrl, poolMax: 2, searchPath: t.schema });
      stores.push({
        reservations: new PostgresReservationStore(secondDb),
        idempotency: new PostgresIdempotencyStore(secondDb),
      });
    }
    for (const store of stores) {
      sweepers.push(
        startSweeper(
          { ...t.runtime.deps, ...store, clock: systemClock },
          { intervalMs: 500, batchSize: 7, keyRetentionMs: 3_600_000, onError: (error) => console.error(error) },
        ),
      );
    }
  });
  after(async () => {
    await Promise.all(sweepers.map((sweeper) => sweeper.stop()));
    await secondDb?.close();
    await t.close();
  });

  test('when 40 holds are abandoned, then within 2 s of expiry every one is expired and its seats cleared', async () => {
    const eventId = await createEvent(t);
    const ids: string[] = [];
    for (let index = 0; index < 40; index += 1) {
      const token = await t.token(`abandoner-${index}`);
      const response = await t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/reservations`,
        headers: auth(token),
        payload: { seat_ids: [`s${index}`] },
      });
      assert.equal(response.statusCode, 201);
      ids.push(response.json().reservation_id);
    }
    const { rows } = await t.runtime.db.query<{ latest: Date }>('SELECT max(expires_at) AS latest FROM reservations');
    const deadline = rows[0]!.latest.getTime() + 2_000;
    let remaining = -1;
    while (Date.now() <= deadline) {
      const counts = await t.runtime.db.query<{ active: number; held: number }>(
        `SELECT (SELECT count(*) FROM reservations WHERE status = 'active')::int AS active,
                (SELECT count(*) FROM seats WHERE hold_token IS NOT NULL)::int AS held`,
      );
      remaining = counts.rows[0]!.active + counts.rows[0]!.held;
      if (remaining === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(remaining, 0, 'all holds swept within 2 s of expiry');
    const statuses = await t.runtime.db.query<{ status: string }>(
      'SELECT DISTINCT status FROM reservations WHERE id = ANY($1::uuid[])',
      [ids],
    );
    assert.deepEqual(
      statuses.rows.map((row) => row.status),
      ['expired'],
    );
  });

  test('when a swept seat was re-held by someone else, then the sweeper leaves the new hold alone', async () => {
    const eventId = await createEvent(t);
    const store = t.runtime.deps.reservations;
    const nowMs = Date.now();
    // Drive the store with explicit times: an old hold that expired, a new hold on the same seat.
    const old = await store.hold({
      reservationId: randomUUID(),
      eventId,
      userId: 'old',
      seatNos: [3],
      nowMs: nowMs - 5_000,
      expiresAtMs: nowMs - 1_000,
      maxSeatsPerUser: 8,
      currency: 'USD',
    });
    assert.equal(old.kind, 'held');
    const fresh = await store.hold({
      reservationId: randomUUID(),
      eventId,
      userId: 'new',
      seatNos: [3],
      nowMs,
      expiresAtMs: nowMs + 60_000,
      maxSeatsPerUser: 8,
      currency: 'USD',
    });
    assert.equal(fresh.kind, 'held');
    await expireDueHolds({ reservations: store, clock: systemClock, board: t.runtime.deps.board }, 100);
    const { rows } = await t.runtime.db.query<{ hold_token: number }>(
      'SELECT hold_token FROM seats WHERE event_id = $1 AND seat_no = 3',
      [eventId],
    );
    assert.equal(rows[0]!.hold_token, fresh.kind === 'held' ? fresh.reservation.fencingToken : -1);
  });
});
