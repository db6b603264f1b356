// create-event-*: POST /v1/events with a 100,000-seat map, timed, then its seat rows checked.
import { seatCountOf } from '../fixtures.ts';
import { round } from '../load.ts';
import type { CreateEventResult } from '../report.ts';
import { median } from '../stats.ts';
import { verifyEventSeats } from '../verify.ts';
import { emptyLog, failedBase, type Kind, type ScenarioDef, type Verify } from './kind.ts';
import { log, options, interrupted } from './run-state.ts';
import { createEvent, type Session } from './session.ts';
import { bigEvent, createTargetS } from './settings.ts';

async function createEventScenario(
  def: ScenarioDef,
  session: Session,
): Promise<{ result: CreateEventResult; verify: Verify }> {
  const seatMap = `${bigEvent.sections} sections × ${bigEvent.rowsPerSection} rows × ${bigEvent.seatsPerRow} seats`;
  // An untimed small event first: the route, JSON schema and database pool are warm.
  await createEvent(session, { sections: 2, rowsPerSection: 10, seatsPerRow: 10 }, 'Bench warm-up (small)', 8);
  const samples: number[] = [];
  const eventIds: string[] = [];
  let bodyBytes = 0;
  for (let run = 0; run < options.createRepetitions && !interrupted; run += 1) {
    const created = await createEvent(session, bigEvent, `Bench create ${run + 1}`, 8);
    samples.push(created.seconds);
    eventIds.push(created.eventId);
    bodyBytes = created.bodyBytes;
    log(`  ${def.name} run ${run + 1}/${options.createRepetitions}: ${created.seconds.toFixed(2)} s`);
  }
  const target = def.backend === 'postgres' ? createTargetS : null;
  const med = median(samples);
  const result: CreateEventResult = {
    name: def.name,
    backend: def.backend,
    kind: 'create-event',
    setup: def.setup,
    ok: samples.length > 0,
    server_log: emptyLog(),
    seat_map: seatMap,
    seat_count: seatCountOf(bigEvent),
    body_bytes: bodyBytes,
    repetitions: samples.length,
    samples_s: samples.map((value) => round(value, 3)),
    min_s: round(Math.min(...samples), 3),
    median_s: round(med, 3),
    max_s: round(Math.max(...samples), 3),
    target_s: target,
    meets_target: target === null ? null : med < target,
    verification: null,
  };
  const verify: Verify = async (query) => {
    const events = [];
    for (const eventId of eventIds) events.push(await verifyEventSeats(query, eventId, seatCountOf(bigEvent)));
    result.verification = { ok: events.every((event) => event.ok), events };
    if (!result.verification.ok) result.ok = false;
  };
  return { result, verify };
}

export const createEventKind: Kind<CreateEventResult> = {
  run: (def, session) => createEventScenario(def, session),
  failed: (def, message) => ({
    ...failedBase(def, message),
    kind: 'create-event',
    seat_map: '',
    seat_count: seatCountOf(bigEvent),
    body_bytes: 0,
    repetitions: 0,
    samples_s: [],
    min_s: NaN,
    median_s: NaN,
    max_s: NaN,
    target_s: null,
    meets_target: null,
    verification: null,
  }),
  summary: (result) =>
    result.repetitions > 0
      ? `${result.name}: min ${result.min_s.toFixed(2)} s, median ${result.median_s.toFixed(2)} s`
      : null,
  anomalies(result) {
    const found: string[] = [];
    if (result.verification && !result.verification.ok) {
      found.push(
        `${result.name}: seat rows wrong: ${result.verification.events.flatMap((e) => e.problems).join('; ')}`,
      );
    }
    if (result.meets_target === false) {
      found.push(`${result.name}: median ${result.median_s.toFixed(2)} s misses the ${result.target_s} s target`);
    }
    return found;
  },
};
