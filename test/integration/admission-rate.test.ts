// The admitter is "safe to run in every process at once": the room's meter lives with the
// room, so two processes ticking it admit no faster than the event's rate, and one process
// dying takes nothing with it. On PostgreSQL + Redis: two real server processes on one
// schema and key prefix, buyers joining through both, admissions read from Redis itself
// (the admitted sorted set, score = admission expiry). PGlite is one process's embedded
// database, so that pass runs the in-process equivalent: one app, two admitters ticking the
// same in-memory room with real timers, one of them stopped halfway.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import type { Deps } from '../../src/app/deps.ts';
import type { WaitingRoom } from '../../src/app/ports/waiting-room.ts';
import { startAdmitter } from '../../src/app/waiting-room.ts';
import { burstOf } from '../../src/domain/waiting-room.ts';
import {
  auth,
  createEvent,
  createSchema,
  deleteRedisKeys,
  dropSchema,
  eventBody,
  postgresUrlFor,
  redisUrl,
  signToken,
  startTestApp,
  testDb,
  testSecret,
  type TestApp,
} from '../support/harness.ts';
import { startServerProcess, type ServerProcess } from '../support/processes.ts';

const admitPerMinute = 600; // 10 a second
const tickMs = 100;
const admissionWindowSeconds = 600;
const buyers = 150; // far more than ~6 s at 10/s admit: the line never runs dry
const phaseMs = 3_000; // both admitters, then one
const ratePerMs = admitPerMinute / 60_000;
const burst = burstOf(admitPerMinute, tickMs); // 1: one tick's worth, at least one person
// Slack for timer lateness only: each admitter schedules its next tick tickMs after the
// last one ended, and the meter holds one tick's worth, so late ticks admit a little less
// than the rate (never more). Below this share of the rate, admission has stalled.
const livenessShare = 0.6;
const waitingRoom = {
  enabled: true,
  admit_per_minute: admitPerMinute,
  admission_window_seconds: admissionWindowSeconds,
};

/** user → when admitted, from the admitted set's (member, admission end) pairs. */
function admittedFrom(flat: string[]): Map<string, number> {
  const admitted = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) {
    admitted.set(flat[i]!, Number(flat[i + 1]) - admissionWindowSeconds * 1000);
  }
  return admitted;
}

/** Two admitters over one waiting room, however this pass runs them. */
interface Rig {
  eventId: string;
  /** Joins over HTTP (alternating between the processes where there are two). */
  join(user: string, index: number): Promise<{ status: number; body: { status?: string } }>;
  /** user → when admitted (ms), read from the room's own store. */
  admissions(users: string[]): Promise<Map<string, number>>;
  /** The admitted and the users still in line, read at one instant (the survivor keeps admitting). */
  snapshot(users: string[]): Promise<{ admitted: Map<string, number>; waiting: string[] }>;
  /** Takes one admitter away for good (SIGKILL on PostgreSQL; in process, a stop). */
  killOne(): Promise<void>;
  /** What the survivor says about a user, over HTTP. */
  status(user: string): Promise<{ status: string; admission_expires_at?: string }>;
  /** Problems the admitters reported (tick failures, crashes of the survivor). */
  problems(): string[];
  /** How many each in-process admitter has let in so far (unknown across processes). */
  perAdmitter(): number[] | null;
  close(): Promise<void>;
}

async function processRig(): Promise<Rig> {
  const schema = await createSchema();
  const prefix = `bxt:${schema}:`;
  const env = {
    DATABASE_URL: postgresUrlFor(schema),
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    AUTH_SECRET: testSecret,
    ADMIT_TICK_MS: String(tickMs),
    DATABASE_POOL_MAX: '5',
  };
  const servers: ServerProcess[] = [];
  const agent = new Agent({ connections: 16 });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const close = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await agent.close();
    redis.disconnect();
    await dropSchema(schema);
    await deleteRedisKeys(redisUrl, prefix);
  };
  try {
    servers.push(...(await Promise.all([0, 1].map(() => startServerProcess(env)))));
    const call = async (base: string, method: 'GET' | 'POST', path: string, token: string, body?: unknown) => {
      const response = await request(`${base}${path}`, {
        method,
        dispatcher: agent,
        headers: { ...auth(token), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.statusCode, body: (await response.body.json()) as any };
    };
    const created = await call(
      servers[0]!.url,
      'POST',
      '/v1/events',
      await signToken('organizer-rate', 'organizer'),
      eventBody({ waiting_room: waitingRoom }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const eventId: string = created.body.event_id;
    const key = (name: string) => `${prefix}{${eventId}}:${name}`;
    const tokens = new Map<string, string>();
    const tokenOf = async (user: string) => {
      if (!tokens.has(user)) tokens.set(user, await signToken(user));
      return tokens.get(user)!;
    };
    return {
      eventId,
      join: async (user, index) =>
        call(servers[index % 2]!.url, 'POST', `/v1/events/${eventId}/queue`, await tokenOf(user)),
      admissions: async () => admittedFrom(await redis.zrange(key('admitted'), 0, -1, 'WITHSCORES')),
      async snapshot() {
        // One transaction: nobody moves from the line to the admitted between the two reads.
        const replies = await redis
          .multi()
          .zrange(key('admitted'), 0, -1, 'WITHSCORES')
          .zrange(key('queue'), 0, -1)
          .exec();
        const [admitted, waiting] = replies!.map(([error, value]) => {
          if (error) throw error;
          return value as string[];
        });
        return { admitted: admittedFrom(admitted!), waiting: waiting! };
      },
      async killOne() {
        const victim = servers[1]!.child;
        const exited = new Promise((resolve) => victim.once('exit', resolve));
        victim.kill('SIGKILL');
        await exited;
      },
      status: async (user) =>
        (await call(servers[0]!.url, 'GET', `/v1/events/${eventId}/queue/me`, await tokenOf(user))).body,
      problems: () =>
        servers[0]!.child.exitCode !== null
          ? [`the surviving server exited:\n${servers[0]!.output()}`]
          : servers[0]!.output().includes('admission tick failed')
            ? [`the surviving server's admitter failed:\n${servers[0]!.output()}`]
            : [],
      perAdmitter: () => null,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The room with its admit step counted, for one admitter's own deps. */
function countingDeps(deps: Deps, count: (admitted: number) => void): Deps {
  const room = deps.waitingRoom;
  const counted = new Proxy(room, {
    get(target, property) {
      if (property === 'admit') {
        return async (...args: Parameters<WaitingRoom['admit']>) => {
          const admitted = await target.admit(...args);
          count(admitted);
          return admitted;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...deps, waitingRoom: counted };
}

async function inProcessRig(): Promise<Rig> {
  const t: TestApp = await startTestApp({ env: { ADMIT_TICK_MS: String(tickMs) } });
  const errors: string[] = [];
  const counts = [0, 0];
  const start = (index: number) =>
    startAdmitter(
      countingDeps(t.runtime.deps, (admitted) => (counts[index]! += admitted)),
      { ...t.runtime.deps.settings.admitter, onError: (error) => errors.push(`admitter ${index}: ${String(error)}`) },
    );
  // Half a tick apart, as two processes would be: started together, their timers would
  // fire back to back and the first would win every place.
  const admitters = [start(0)];
  await sleep(tickMs / 2);
  admitters.push(start(1));
  const close = async () => {
    await Promise.all(admitters.map((admitter) => admitter.stop()));
    await t.close();
  };
  try {
    assert.equal(t.runtime.deps.settings.admitter.tickMs, tickMs);
    const eventId = await createEvent(t, { waiting_room: waitingRoom });
    const room = t.runtime.deps.waitingRoom;
    const inject = async (method: 'GET' | 'POST', url: string, user: string) => {
      const response = await t.app.inject({ method, url, headers: auth(await t.token(user)) });
      return { status: response.statusCode, body: response.json() };
    };
    const snapshot = async (users: string[]) => {
      const states = await room.states(eventId, users, Date.now());
      const admitted = new Map<string, number>();
      states.forEach((state, index) => {
        if (state.kind === 'admitted') admitted.set(users[index]!, state.expiresAtMs - admissionWindowSeconds * 1000);
      });
      return { admitted, waiting: users.filter((_, index) => states[index]!.kind === 'waiting') };
    };
    return {
      eventId,
      join: (user) => inject('POST', `/v1/events/${eventId}/queue`, user),
      admissions: async (users) => (await snapshot(users)).admitted,
      snapshot,
      // The one that did the admitting goes: the other must take over. (Two admitters
      // ticking at one period tend to settle into one of them taking every place: whoever
      // comes first after the meter holds a whole place again.)
      killOne: () => admitters[counts[0]! >= counts[1]! ? 0 : 1]!.stop(),
      status: async (user) => (await inject('GET', `/v1/events/${eventId}/queue/me`, user)).body,
      problems: () => errors,
      perAdmitter: () => [...counts],
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The fullest window [a, b] of admission times: count − (burst + rate·(b − a)), at most 0 if the rate held. */
function worstWindow(times: number[]) {
  let worst = { excess: -Infinity, count: 0, fromMs: 0, toMs: 0 };
  for (let i = 0; i < times.length; i += 1) {
    for (let j = i; j < times.length; j += 1) {
      const count = j - i + 1;
      const excess = count - (burst + ratePerMs * (times[j]! - times[i]!));
      if (excess > worst.excess) worst = { excess, count, fromMs: times[i]!, toMs: times[j]! };
    }
  }
  return worst;
}

describe(`admission rate with two admitters on ${testDb}`, () => {
  let rig: Rig;

  before(async () => {
    rig = testDb === 'postgres' ? await processRig() : await inProcessRig();
  });
  after(() => rig?.close());

  const who = testDb === 'postgres' ? 'two server processes' : 'two admitters in one process';
  test(`when ${who} tick one waiting room, then the combined admission rate still holds, first come first served, and losing one stops nothing`, async () => {
    const users = Array.from({ length: buyers }, (_, index) => `rate-buyer-${String(index).padStart(3, '0')}`);
    const joinIndex = new Map(users.map((user, index) => [user, index]));

    // Watch the admitted set while it grows: an admission, once made, never changes (a
    // second admission of the same buyer would move its expiry).
    const firstSeen = new Map<string, number>();
    const readmitted: string[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const [user, atMs] of await rig.admissions(users)) {
          const seen = firstSeen.get(user);
          if (seen === undefined) firstSeen.set(user, atMs);
          else if (seen !== atMs) readmitted.push(`${user}: ${seen} then ${atMs}`);
        }
        await sleep(150);
      }
    })();

    // Everyone joins after the opening, one after the other (through both processes in
    // turn), so the line is in exactly this order: first come, first served.
    const joinStartMs = Date.now();
    for (const [index, user] of users.entries()) {
      const joined = await rig.join(user, index);
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
      assert.ok(['waiting', 'admitted'].includes(joined.body.status!), JSON.stringify(joined.body));
    }
    const joinedMs = Date.now();

    await sleep(joinStartMs + phaseMs - Date.now());
    const killAtMs = Date.now();
    const perAdmitter = rig.perAdmitter();
    await rig.killOne();
    await sleep(killAtMs + phaseMs - Date.now());
    const endMs = Date.now();
    watching = false;
    await watch;
    const { admitted, waiting } = await rig.snapshot(users);

    const times = [...admitted.values()].sort((a, b) => a - b);
    const firstMs = times[0]!;
    const bothPhase = times.filter((atMs) => atMs <= killAtMs).length;
    // Counted up to endMs: the survivor keeps admitting while the admissions are read.
    const onePhase = times.filter((atMs) => atMs > killAtMs && atMs <= endMs).length;
    const perSecond = (count: number, ms: number) => ((count * 1000) / ms).toFixed(2);
    const worst = worstWindow(times);
    const perWindow = (windowMs: number) => {
      let most = 0;
      for (let i = 0; i < times.length; i += 1) {
        let j = i;
        while (j < times.length && times[j]! - times[i]! < windowMs) j += 1;
        most = Math.max(most, j - i);
      }
      return most;
    };
    console.log(
      `admission rate (${testDb}): ${admitted.size} admitted, ${waiting.length} still waiting; joins took ` +
        `${joinedMs - joinStartMs} ms; both admitters: ${bothPhase} in ${killAtMs - firstMs} ms ` +
        `(${perSecond(bothPhase, killAtMs - firstMs)}/s), one admitter: ${onePhase} in ${endMs - killAtMs} ms ` +
        `(${perSecond(onePhase, endMs - killAtMs)}/s); set rate ${ratePerMs * 1000}/s, burst ${burst}; ` +
        `most in any 100 ms: ${perWindow(100)}, 1 s: ${perWindow(1000)}, 2 s: ${perWindow(2000)}; ` +
        `fullest window: ${worst.count} in ${worst.toMs - worst.fromMs} ms (allowed ${(
          burst +
          ratePerMs * (worst.toMs - worst.fromMs)
        ).toFixed(2)})` +
        (perAdmitter
          ? `; per admitter while both ran: ${perAdmitter.join(' + ')}, at the end: ${rig.perAdmitter()!.join(' + ')}`
          : ''),
    );

    assert.deepEqual(rig.problems(), []);
    assert.deepEqual(readmitted, [], 'nobody is admitted twice');
    // Everyone is in exactly one place: admitted or in line, never both, never lost.
    assert.equal(waiting.filter((user) => admitted.has(user)).length, 0, 'nobody is both admitted and waiting');
    assert.equal(admitted.size + waiting.length, buyers, 'every buyer is admitted or waiting');
    assert.ok(waiting.length > 0, 'the line never ran dry: the meter alone set the pace');

    // The rate: in every window [a, b] of admission times, at most burst + rate·(b − a).
    // Exact, no clock slack: both processes read one machine's clock, and while the line is
    // not empty every admit step takes every whole place, leaving less than one; a tick
    // whose clock reading is behind the meter's refills nothing, so it cannot admit at an
    // earlier time than the meter has reached. The epsilon absorbs float rounding only.
    assert.ok(
      worst.excess <= 1e-9,
      `${worst.count} admitted between ${worst.fromMs} and ${worst.toMs} (${worst.toMs - worst.fromMs} ms): ` +
        `more than burst ${burst} + rate ${ratePerMs}/ms`,
    );
    assert.ok(
      bothPhase + onePhase <= burst + ratePerMs * (endMs - firstMs),
      `two admitters added up to more: ${bothPhase + onePhase} in ${endMs - firstMs} ms`,
    );

    // Liveness: both admitters together, then the survivor alone, kept admitting near the rate.
    assert.ok(
      bothPhase >= livenessShare * ratePerMs * (killAtMs - firstMs) - burst,
      `both admitters: only ${bothPhase} in ${killAtMs - firstMs} ms`,
    );
    assert.ok(
      onePhase >= livenessShare * ratePerMs * (endMs - killAtMs) - burst,
      `after one admitter died: only ${onePhase} in ${endMs - killAtMs} ms`,
    );

    // First come, first served: the admitted are exactly the first joiners, admitted in the
    // order they joined (admission times in join order never go back).
    const order = [...admitted.keys()].sort((a, b) => joinIndex.get(a)! - joinIndex.get(b)!);
    assert.deepEqual(
      order.map((user) => joinIndex.get(user)),
      users.slice(0, admitted.size).map((_, index) => index),
      'the admitted are the first in line',
    );
    for (let index = 1; index < order.length; index += 1) {
      assert.ok(
        admitted.get(order[index]!)! >= admitted.get(order[index - 1]!)!,
        `${order[index]} was admitted before ${order[index - 1]}, who joined first`,
      );
    }

    // What the buyers are told agrees with the store: the last admitted holds an admission
    // that ends when the store says; the last to join is still waiting.
    const last = order.at(-1)!;
    const lastStatus = await rig.status(last);
    assert.equal(lastStatus.status, 'admitted');
    assert.equal(Date.parse(lastStatus.admission_expires_at!), admitted.get(last)! + admissionWindowSeconds * 1000);
    assert.equal((await rig.status(users.at(-1)!)).status, 'waiting');
  });
});
