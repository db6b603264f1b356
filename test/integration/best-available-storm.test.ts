// A storm of mixed holds: 180 buyers, half of their rounds asking for the best available
// (1–4 seats, by tier or section or anywhere, mostly together, some accessible), half
// naming seats, then confirming, cancelling or keeping them; the organizer blocks seats
// before and releases and blocks again mid-storm. On PostgreSQL across three server
// processes sharing one Redis (the Lua chooser); on PGlite one process (the in-process
// chooser). Then: no seat in two live holds or bookings, no partial hold, no blocked seat
// held, every 201 recorded with the seats it answered, every server's map as the
// database; every best-available hold adjacent in one row when together, within the
// scope asked, accessible seats only for accessible requests, and of the request's size.
// (That no choice strands a seat another choice in its row would not is a property of each
// atomic choice, proven on the chooser and its twins: test/unit/best-available.test.ts,
// test/integration/best-available-rules.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventBody, signToken, testDb } from '../support/harness.ts';
import { seedFromEnv } from '../support/random.ts';
import { httpCaller, runStorm, startStormServers, type StormServers, verifyStorm } from '../support/storm.ts';

const rowsPerSection = 8;
const seatsPerRow = 10;
/** Stalls (front, rank 1) seats 0–79, its row 1 with wheelchair spaces 1–2 and a companion seat 3; Circle (back, rank 2) 80–159. */
const sections = [
  {
    name: 'Stalls',
    price_tier: 'front',
    rank: 1,
    rows: Array.from({ length: rowsPerSection }, (_, i) => ({
      label: String(i + 1),
      seats: seatsPerRow,
      ...(i === 0 ? { accessible: [1, 2], companion: [3] } : {}),
    })),
  },
  {
    name: 'Circle',
    price_tier: 'back',
    rank: 2,
    rows: Array.from({ length: rowsPerSection }, (_, i) => ({ label: String(i + 1), seats: seatsPerRow })),
  },
];
const seatCount = 2 * rowsPerSection * seatsPerRow;
const reservedSeats = new Set([0, 1, 2]);
const rowOf = (seatNo: number) => Math.floor(seatNo / seatsPerRow);
const sectionOf = (seatNo: number) => (seatNo < rowsPerSection * seatsPerRow ? 'Stalls' : 'Circle');

describe(`best available in a storm on ${testDb}`, () => {
  let servers: StormServers;
  const call = httpCaller();

  before(async () => {
    servers = await startStormServers();
  });

  after(async () => {
    await call.close();
    await servers.close();
  });

  test('when 180 buyers race best-available and named holds while the organizer blocks seats, then nothing is held twice or in part, and every choice keeps its rules', async () => {
    const { urls, db } = servers;
    const seed = seedFromEnv();
    console.log(`best available storm seed: ${seed} (replay with TEST_SEED=${seed})`);
    const organizer = await signToken('organizer-race', 'organizer');
    const created = await call(
      urls[0]!,
      'POST',
      '/v1/events',
      organizer,
      eventBody({ seat_map: { sections }, max_seats_per_user: 12 }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const eventId: string = created.body.event_id;

    // Blocks live at the end: the first is released mid-storm, the second made then (if its seats are free).
    const blocked = new Map<string, string[]>();
    const block = async (seatIds: string[]) => {
      const answer = await call(urls[0]!, 'POST', `/v1/events/${eventId}/blocks`, organizer, {
        seat_ids: seatIds,
        label: 'press',
      });
      if (answer.status === 201) blocked.set(answer.body.block_id, seatIds);
      else assert.equal(answer.status, 409, JSON.stringify(answer.body));
      return answer.status;
    };
    assert.equal(await block(['s24', 's25', 's26']), 201);
    const [firstBlock] = [...blocked.keys()];

    const options = {
      call,
      urls,
      eventId,
      seatsInEvent: seatCount,
      buyers: 180,
      rounds: 3,
      seed,
      bestAvailable: {
        share: 0.5,
        draw: (random: { next(): number; int(max: number): number; pick<T>(items: readonly T[]): T }) => ({
          count: 1 + random.int(4),
          ...random.pick([
            {},
            { price_tier: 'front' },
            { price_tier: 'back' },
            { section: 'Circle' },
            { section: 'Stalls' },
          ]),
          ...(random.next() < 0.15 ? { together: false } : {}),
          ...(random.next() < 0.1 ? { accessible: true } : {}),
        }),
      },
      midway: {
        afterHolds: 200,
        run: async () => {
          const released = await call(
            urls[1 % urls.length]!,
            'DELETE',
            `/v1/events/${eventId}/blocks/${firstBlock}`,
            organizer,
          );
          assert.equal(released.status, 204, JSON.stringify(released.body));
          blocked.delete(firstBlock!);
          await block(['s157', 's158', 's159']);
        },
      },
      blockedSeatIds: () => new Set([...blocked.values()].flat()),
    };
    const result = await runStorm(options);
    await verifyStorm(db, options, result);

    const best = [...result.expected.values()].filter((hold) => hold.best);
    assert.ok(best.length > 20, `${best.length} best-available holds`);
    for (const hold of best) {
      const request = hold.best as {
        count: number;
        price_tier?: string;
        section?: string;
        together?: boolean;
        accessible?: boolean;
      };
      const seatNos = hold.seatIds.map((seatId) => Number(seatId.slice(1))).sort((a, b) => a - b);
      const where = `${JSON.stringify(request)} → ${hold.seatIds}`;
      assert.equal(seatNos.length, request.count, where);
      if (request.together !== false) {
        assert.ok(
          seatNos.every((seatNo, i) => i === 0 || seatNo === seatNos[i - 1]! + 1),
          `not adjacent: ${where}`,
        );
        assert.ok(
          seatNos.every((seatNo) => rowOf(seatNo) === rowOf(seatNos[0]!)),
          `not one row: ${where}`,
        );
      }
      const section =
        request.section ??
        (request.price_tier === 'front' ? 'Stalls' : request.price_tier === 'back' ? 'Circle' : undefined);
      if (section)
        assert.ok(
          seatNos.every((seatNo) => sectionOf(seatNo) === section),
          `out of scope: ${where}`,
        );
      assert.ok(
        seatNos.every((seatNo) => reservedSeats.has(seatNo) === (request.accessible === true)),
        `accessible seats: ${where}`,
      );
    }
  });
});
