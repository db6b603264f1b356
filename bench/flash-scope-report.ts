// The flash sale's table of buyers who pick from the map against buyers who ask for the best
// available (issue 19), from the service runs' hold judgements (bench/flash-scope.ts).
import { designs } from './flash-designs.ts';
import type { FlashSaleRun, TargetRun } from './flash-sale.ts';
import type { ScopeTally } from './flash-scope.ts';
import { markdownTable, right } from './markdown.ts';

/** Issue 19's bar: best-available buyers refused with seats free in their scope, at most this share. */
export const bestRefusedWithSeatsFreeMax = 0.05;

const n0 = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US');
const n1 = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? '–'
    : value.toLocaleString('en-US', { maximumFractionDigits: value < 10 ? 2 : 1 });
const pct = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : `${n1(Math.round(value * 10_000) / 100)}%`;
const share = (part: number, whole: number) => (whole === 0 ? null : part / whole);

type Judged = TargetRun & {
  figures: NonNullable<TargetRun['figures']>;
  check: NonNullable<TargetRun['check']> & { holds: NonNullable<NonNullable<TargetRun['check']>['holds']> };
};

const scopeCells = (t: Judged, cell: (scope: ScopeTally) => string) =>
  t.check.holds.scopes.map((scope) => `${scope.scope} ${cell(scope)}`).join(' · ');

/** One column per service run that was judged: the hold requests, their 409s judged, the sell-out. */
export function renderBuyerModes(run: FlashSaleRun): string[] {
  const judged = run.targets.filter((t): t is Judged => Boolean(t.figures && t.check?.holds));
  if (judged.length === 0) return [];
  const row = (label: string, cell: (t: Judged) => string) => [label, ...judged.map(cell)];
  const rows = [
    row('Buyers', (t) => (designs[t.name].buyers === 'best' ? 'ask for the best available' : 'pick from the map')),
    row('Hold requests (attempted)', (t) => n0(t.check.holds.requests)),
    row('201 (held)', (t) => n0(t.check.holds.answered_201)),
    row('409', (t) => {
      const codes = Object.entries(t.figures.requests.hold.non_2xx)
        .filter(([key]) => key.startsWith('409'))
        .map(([key, count]) => `${key.slice(4)} ${n0(count)}`);
      return `${n0(t.check.holds.answered_409)}${codes.length ? ` (${codes.join(', ')})` : ''}`;
    }),
    row('409 rate, all requests', (t) => pct(t.figures.hold_409_rate)),
    row('409 while the scope had a free seat (rate: of the requests not refused rightly)', (t) => {
      const h = t.check.holds;
      const text = `${n0(h.refused_with_seats_free)} (${pct(h.rate_with_seats_free)})`;
      if (designs[t.name].buyers !== 'best' || h.rate_with_seats_free === null) return text;
      return `${text} (bar < ${pct(bestRefusedWithSeatsFreeMax)}: ${h.rate_with_seats_free < bestRefusedWithSeatsFreeMax ? 'met' : 'MISSED'})`;
    }),
    row('… of the requests sent while more than a tenth of their scope was free', (t) => {
      const b = t.check.holds.before_last_tenth;
      return `${n0(b.refused_with_seats_free)} of ${n0(b.requests - b.refused_scope_full)} (${pct(b.rate)})`;
    }),
    row(
      '409 while the scope had room (as many seats together in a row)',
      (t) => `${n0(t.check.holds.refused_with_room)} (${pct(t.check.holds.rate_with_room)})`,
    ),
    row('409 with the scope full at that moment (refused rightly)', (t) => n0(t.check.holds.refused_scope_full)),
    row('409 while the scope had a free seat, by answer (of them with room)', (t) =>
      Object.entries(t.check.holds.refused_with_seats_free_by_detail)
        .sort((a, b) => b[1].refused - a[1].refused)
        .map(([shape, count]) => `${n0(count.refused)} (${n0(count.with_room)}): ${shape}`)
        .join(' · '),
    ),
    row('Per scope: requests / 409 with a free seat', (t) =>
      scopeCells(
        t,
        (s) =>
          `${n0(s.requests)} / ${n0(s.refused_with_seats_free)} (${pct(share(s.refused_with_seats_free, s.requests - s.refused_scope_full))})`,
      ),
    ),
    row('Per scope: no free seat first at s', (t) => scopeCells(t, (s) => n1(s.first_full_s))),
    row('Every seat held or booked at s', (t) => n1(t.check.holds.all_taken_s)),
    row('Sold out (every seat booked) in s', (t) =>
      t.figures.sold_out ? n1(t.figures.sell_out_s) : `not in ${n1(t.figures.elapsed_s)}`,
    ),
    row('Seats booked', (t) => `${n0(t.figures.seats_booked)} of ${n0(t.seats)}`),
    row('Hold requests / 201 per second', (t) => `${n0(t.figures.hold_requests_per_s)} / ${n0(t.figures.holds_per_s)}`),
    row('Reserve p50 / p99 / p99.9 ms', (t) => {
      const l = t.figures.requests.hold.latency_ms.all;
      return `${n1(l.p50)} / ${n1(l.p99)} / ${n1(l.p99_9)}`;
    }),
    row('Availability reads', (t) => n0(t.figures.requests.availability.requests)),
    row('Buyers bought / walked away / gave up after 5 × 409 / found no seat', (t) =>
      [
        t.figures.buyers.bought,
        t.figures.buyers.abandoned,
        t.figures.buyers.gave_up_after_409s,
        t.figures.buyers.found_no_seat,
      ]
        .map(n0)
        .join(' / '),
    ),
    row('Best-available holds checked / not as asked / partial in the store (must be 0)', (t) =>
      t.check.best_holds
        ? `${n0(t.check.best_holds.checked)} / ${n0(t.check.best_holds.not_as_asked)} / ${n0(t.check.best_holds.partial_in_store)}`
        : '–',
    ),
    row(
      'Seats oversold / partial live holds (must be 0)',
      (t) => `${t.check.oversold_seats} / ${t.check.partial_holds}`,
    ),
    row('Clock check: 201s stamped outside their request (worst ms)', (t) => {
      const c = t.check.holds.clock_check;
      return `${n0(c.outside_window)} of ${n0(c.holds)} (${n1(c.worst_ms)})`;
    }),
  ];
  return [
    ...markdownTable(['Figure', ...judged.map((t) => right(t.label))], rows),
    '',
    "Every hold request is judged against the event's reservations after the run (bench/flash-scope.ts): a seat is " +
      "taken from its reservation's `created_at` until its `expires_at` (for ever once confirmed). A 409 is refused " +
      'rightly when its scope (the price tier asked for, or the whole event: every pick-from-the-map request) had no ' +
      'free seat at some instant between sending it and reading the answer; the rates are of the requests not refused ' +
      'rightly. _Room_ is the looser reading: the scope had as many adjacent free seats in one row as asked. A ' +
      'best-available buyer asks again for any tier when its tier is taken, and with no room anywhere reads the map ' +
      'every 500 ms until a row has room again (5 requests at most).',
  ];
}
