// Where a hold is decided: the rules here, the gate in front, the conditional write in the store.
import { randomUUID } from 'node:crypto';
import {
  candidateRows,
  chooseSeats,
  notEnoughSeats,
  seatPlanOf,
  type BestAvailableRequest,
  type CandidateRow,
} from '../domain/best-available.ts';
import { DomainError } from '../domain/errors.ts';
import { assertSaleOpen, assertWithinUserLimit, holdExpiresAt, parseHoldRequest } from '../domain/holds.ts';
import { seatIdOf } from '../domain/seat-map.ts';
import type { Deps } from './deps.ts';
import { requireEventOnSale } from './events.ts';
import type { EventRecord, SeatState } from './ports/events.ts';
import type { HoldOutcome } from './ports/reservations.ts';
import { reservationView } from './views.ts';
import { requireAdmission } from './waiting-room.ts';

/** A hold of the seats the buyer named. */
export async function holdSeats(
  deps: Deps,
  userId: string,
  eventId: string,
  seatIds: string[],
  admissionToken?: string,
) {
  const { event, nowMs } = await openForHolds(deps, userId, eventId, admissionToken);
  const seatNos = parseHoldRequest(seatIds, event.seatCount, deps.settings.seatsPerHoldMax);
  assertWithinUserLimit(0, seatNos.length, event.maxSeatsPerUser);
  const reservationId = randomUUID();
  // The gate refuses most conflicting holds without asking PostgreSQL; a pass takes the
  // seats provisionally until PostgreSQL has decided.
  const gate = deps.settings.holdGate
    ? await deps.board.tryHold(event.id, seatNos, reservationId, nowMs)
    : ({ kind: 'bypassed' } as const);
  if (gate.kind === 'conflict') throw seatsUnavailable(gate.seatNos);
  const outcome = await record(deps, event, userId, reservationId, seatNos, gate.kind === 'passed', nowMs);
  if (outcome.kind === 'conflict') throw seatsUnavailable(outcome.seatNos);
  return reservationView(outcome.reservation, outcome.seats, nowMs);
}

/** The choices best available makes again when PostgreSQL refuses a chosen seat. */
const bestAttemptsMax = 3;

/**
 * A hold of seats the server chooses (domain/best-available.ts): chosen and taken in one
 * step by the gate (Lua in Redis, or the in-process board), recorded by PostgreSQL as any
 * hold. A seat PostgreSQL refuses (the gate did not know its state) is taught to the gate,
 * which chooses again. Without the gate (Redis down, or the gate off), chosen from
 * PostgreSQL's state and recorded by the same conditional write, which refuses a seat
 * taken meanwhile: then it chooses again without it.
 */
export async function holdBestAvailable(
  deps: Deps,
  userId: string,
  eventId: string,
  request: BestAvailableRequest,
  admissionToken?: string,
) {
  const { event, nowMs } = await openForHolds(deps, userId, eventId, admissionToken);
  if (request.count > deps.settings.seatsPerHoldMax) {
    throw new DomainError(
      'TOO_MANY_SEATS',
      `at most ${deps.settings.seatsPerHoldMax} seats can be held in one reservation`,
      {
        seats_per_hold_max: deps.settings.seatsPerHoldMax,
      },
    );
  }
  assertWithinUserLimit(0, request.count, event.maxSeatsPerUser);
  const rows = candidateRowsOf(event, request);
  const refused = new Set<number>();
  for (let attempt = 0; attempt < bestAttemptsMax; attempt += 1) {
    const reservationId = randomUUID();
    const gate = deps.settings.holdGate
      ? await deps.board.tryHoldBest(event.id, event.seatCount, rows, request, reservationId, nowMs)
      : ({ kind: 'bypassed' } as const);
    if (gate.kind === 'none') throw notEnoughSeats(request);
    const seatNos =
      gate.kind === 'passed' ? gate.seatNos : await chooseFromStore(deps, event, rows, request, refused, nowMs);
    if (!seatNos) throw notEnoughSeats(request);
    const outcome = await record(deps, event, userId, reservationId, seatNos, gate.kind === 'passed', nowMs);
    if (outcome.kind === 'held') return reservationView(outcome.reservation, outcome.seats, nowMs);
    for (const seatNo of outcome.seatNos) refused.add(seatNo);
    if (gate.kind === 'passed') await teachGate(deps, event.id, outcome.seatNos, nowMs);
  }
  throw new DomainError(
    'NOT_ENOUGH_SEATS',
    `the seats chosen were taken by other buyers ${bestAttemptsMax} times over; try again`,
    { count: request.count, together: request.together },
  );
}

async function openForHolds(deps: Deps, userId: string, eventId: string, admissionToken: string | undefined) {
  const event = await requireEventOnSale(deps, eventId);
  await requireAdmission(deps, event, userId, admissionToken);
  const nowMs = deps.clock.nowMs();
  assertSaleOpen(event.saleOpensAtMs, nowMs);
  return { event, nowMs };
}

/**
 * Records a hold in PostgreSQL, the judge, and settles the gate's provisional pass (when
 * there was one): the seats go on the live map if held, back to the gate if not.
 * A seat refused is answered as a conflict; the per-user cap is thrown.
 */
async function record(
  deps: Deps,
  event: EventRecord,
  userId: string,
  reservationId: string,
  seatNos: number[],
  passed: boolean,
  nowMs: number,
): Promise<Exclude<HoldOutcome, { kind: 'user_limit' }>> {
  let outcome;
  try {
    outcome = await deps.reservations.hold({
      reservationId,
      eventId: event.id,
      userId,
      seatNos,
      nowMs,
      expiresAtMs: holdExpiresAt(nowMs, deps.settings.holdTtlMs),
      maxSeatsPerUser: event.maxSeatsPerUser,
      currency: event.currency,
    });
  } catch (error) {
    if (passed) await deps.board.abandon(event.id, seatNos, reservationId);
    throw error;
  }
  if (outcome.kind !== 'held' && passed) await deps.board.abandon(event.id, seatNos, reservationId);
  if (outcome.kind === 'user_limit') {
    assertWithinUserLimit(outcome.heldOrBooked, seatNos.length, event.maxSeatsPerUser);
    throw new Error('unreachable: the store reported a limit the rule does not see');
  }
  if (outcome.kind === 'held') await deps.board.apply(event.id, outcome.changes);
  return outcome;
}

/** PostgreSQL's state of seats it refused goes to the gate, which did not know it (a missed change). */
async function teachGate(deps: Deps, eventId: string, seatNos: number[], nowMs: number): Promise<void> {
  const refused = new Set(seatNos);
  const range = { from: Math.min(...seatNos), to: Math.max(...seatNos) };
  await applyRefused(deps, eventId, await deps.events.seatStates(eventId, nowMs, range), refused);
}

/** Of states read from PostgreSQL, those of the seats it refused go to the live map. */
async function applyRefused(deps: Deps, eventId: string, states: SeatState[], refused: Set<number>): Promise<void> {
  if (refused.size > 0)
    await deps.board.apply(
      eventId,
      states.filter((state) => refused.has(state.seatNo)),
    );
}

/**
 * Best available from PostgreSQL's state (the gate cannot choose): the seats not free
 * now, and those PostgreSQL just refused, are out. Those refusals also go to the live map,
 * so a gate that missed a change chooses right next time.
 */
async function chooseFromStore(
  deps: Deps,
  event: EventRecord,
  rows: readonly CandidateRow[],
  request: BestAvailableRequest,
  refused: Set<number>,
  nowMs: number,
): Promise<number[] | null> {
  if (rows.length === 0) return null;
  const from = Math.min(...rows.map((row) => row.firstSeatNo));
  const to = Math.max(...rows.map((row) => row.firstSeatNo + row.seatCount - 1));
  const states = await deps.events.seatStates(event.id, nowMs, { from, to });
  const taken = new Set(refused);
  for (const state of states) if (state.status !== 'available') taken.add(state.seatNo);
  await applyRefused(deps, event.id, states, refused);
  return chooseSeats(rows, (seatNo) => !taken.has(seatNo), request.count, request.together);
}

/** An event's rows for a request's scope, worked out once per seat map and scope (kept for the last events). */
const plansKept = 500;
const plans = new Map<string, { plan: ReturnType<typeof seatPlanOf>; scopes: Map<string, CandidateRow[]> }>();

function candidateRowsOf(event: EventRecord, request: BestAvailableRequest): CandidateRow[] {
  const key = `${event.id}:${event.updatedAtMs}`;
  let known = plans.get(key);
  if (!known) {
    known = { plan: seatPlanOf(event.sections), scopes: new Map() };
    plans.set(key, known);
    if (plans.size > plansKept) plans.delete(plans.keys().next().value!);
  }
  const scope = JSON.stringify([request.priceTier ?? null, request.section ?? null, request.accessible]);
  let rows = known.scopes.get(scope);
  if (!rows) {
    rows = candidateRows(known.plan, request);
    known.scopes.set(scope, rows);
  }
  return rows;
}

function seatsUnavailable(seatNos: number[]): DomainError {
  const conflicting = seatNos.map(seatIdOf); // in the order the request named them, as PostgreSQL answers
  return new DomainError('SEAT_UNAVAILABLE', `seats not available: ${conflicting.join(', ')}`, {
    conflicting_seat_ids: conflicting,
  });
}
