// Every scenario of `npm run bench`, in the order they run: this table drives the usage, the
// --scenario argument, the runs, their checks and the report. The load scenarios run first, one
// server per backend and setup (see bench/run.ts), then the search scenarios on servers of their
// own, then the child-process scenarios one after another. What a kind of scenario does is in
// `kinds` below (one module each); what a child scenario does is in its entry and its module.
import type { ScenarioKind, ScenarioResult } from '../report.ts';
import type { CheckinsRun } from '../checkins.ts';
import type { FlashSaleRun } from '../flash-sale.ts';
import type { Payments3dsRun } from '../payments-3ds.ts';
import type { WaitingRoomRun } from '../waiting-room.ts';
import type { WebSeatMapRun } from '../web-seat-map.ts';
import { checkinsAnomalies, checkinsAppendix } from './checkins.ts';
import type { SaleStatsRun } from '../sale-stats.ts';
import { saleStatsAnomalies, saleStatsAppendix } from './sale-stats.ts';
import { type ChildScenarioDef, readCheckedResult } from './child-process.ts';
import { createEventKind } from './create-event.ts';
import { flashSaleAnomalies } from './flash-sale.ts';
import { payments3dsAnomalies, payments3dsAppendix } from './payments-3ds.ts';
import { holdKind } from './hold.ts';
import type { Kind, ScenarioDef } from './kind.ts';
import { purchaseKind } from './purchase.ts';
import { searchKind } from './search.ts';
import { readSseFanout, sseAnomalies } from './sse-fanout.ts';
import { waitingRoomAnomalies } from './waiting-room.ts';
import { webSeatMapAnomalies, webSeatMapAppendix } from './web-seat-map.ts';

export const scenarios: readonly (ScenarioDef | ChildScenarioDef)[] = [
  { name: 'create-event-postgres', backend: 'postgres', setup: 'plain', kind: 'create-event' },
  { name: 'hold-uncontended-postgres', backend: 'postgres', setup: 'plain', kind: 'hold-uncontended' },
  { name: 'hold-uncontended-batch-off', backend: 'postgres', setup: 'batch-off', kind: 'hold-uncontended' },
  { name: 'hold-contended-postgres', backend: 'postgres', setup: 'plain', kind: 'hold-contended' },
  { name: 'confirm-postgres', backend: 'postgres', setup: 'plain', kind: 'purchase' },
  // The hold gate comparison: the same two workloads on three more servers, one after another.
  { name: 'hold-uncontended-pg-only', backend: 'postgres', setup: 'pg-only', kind: 'hold-uncontended' },
  { name: 'hold-contended-pg-only', backend: 'postgres', setup: 'pg-only', kind: 'hold-contended' },
  { name: 'hold-uncontended-redis', backend: 'postgres', setup: 'redis-gate', kind: 'hold-uncontended' },
  { name: 'hold-contended-redis', backend: 'postgres', setup: 'redis-gate', kind: 'hold-contended', openLoop: true },
  // What the rate limits cost on the flash-sale path, with their buckets in Redis or per process.
  { name: 'hold-contended-limits-shared', backend: 'postgres', setup: 'limits-shared', kind: 'hold-contended' },
  { name: 'hold-contended-limits-process', backend: 'postgres', setup: 'limits-process', kind: 'hold-contended' },
  { name: 'hold-uncontended-ceiling', backend: 'redis', setup: 'ceiling', kind: 'hold-uncontended' },
  { name: 'hold-contended-ceiling', backend: 'redis', setup: 'ceiling', kind: 'hold-contended' },
  { name: 'create-event-pglite', backend: 'pglite', setup: 'plain', kind: 'create-event' },
  { name: 'hold-uncontended-pglite', backend: 'pglite', setup: 'plain', kind: 'hold-uncontended' },
  // Search on a seeded catalog, each with servers of its own (its own database / data directory).
  { name: 'search-postgres', backend: 'postgres', setup: 'plain', kind: 'search' },
  { name: 'search-pglite', backend: 'pglite', setup: 'plain', kind: 'search' },
  // The live seat map's fan-out, on a machine the other scenarios have left (1,000 subscribers
  // and 5 changes with --quick, else 10,000 and 20).
  {
    name: 'sse-fanout',
    kind: 'child',
    script: 'bench/sse-fanout.ts',
    timeoutMs: { quick: 120_000, full: 300_000 },
    reportKey: 'sse_fanout',
    usage: [
      'bench/sse-fanout.ts in a child process, last; 1,000',
      'subscribers and 5 changes with --quick, else 10,000 and 20',
    ],
    read: readSseFanout,
    anomalies: sseAnomalies,
  },
  // The Redis queue, joins over HTTP, the admission rate.
  {
    name: 'waiting-room',
    kind: 'child',
    script: 'bench/waiting-room.ts',
    timeoutMs: { quick: 120_000, full: 600_000 },
    reportKey: 'waiting_room',
    usage: ['bench/waiting-room.ts in a child process, after it;', '20,000 queue joins with --quick, else 500,000'],
    read: (name, child, out) => readCheckedResult<WaitingRoomRun>(name, child, out),
    anomalies: waitingRoomAnomalies,
  },
  // Buyers of whom a share pay with 3-D Secure (their bank answers after a think time), some
  // cancel and are refunded: confirm latency (201 / 202), 202 to booked, cancel to refund.
  {
    name: 'payments-3ds',
    kind: 'child',
    script: 'bench/payments-3ds.ts',
    timeoutMs: { quick: 120_000, full: 300_000 },
    reportKey: 'payments_3ds',
    passedFlags: ['--share-3ds', '--think-ms', '--poll-ms'],
    usage: [
      'bench/payments-3ds.ts in a child process, after it; 20',
      'sessions for 3 s with --quick, else 50 for 15 s',
    ],
    read: (name, child, out) => readCheckedResult<Payments3dsRun>(name, child, out),
    anomalies: payments3dsAnomalies,
    appendix: payments3dsAppendix,
  },
  // The doors open: an event's seats booked, then every ticket scanned by concurrent scanner
  // clients, some twice: check-ins/s and latency, each ticket admitted once, every second scan 409.
  {
    name: 'checkins',
    kind: 'child',
    script: 'bench/checkins.ts',
    timeoutMs: { quick: 120_000, full: 300_000 },
    reportKey: 'checkins',
    passedFlags: ['--tickets', '--scanners', '--duplicate-pct'],
    usage: [
      'bench/checkins.ts in a child process, after it; 500',
      'tickets with --quick, else 2,000, scanned by 32 clients, 10% twice',
    ],
    read: (name, child, out) => readCheckedResult<CheckinsRun>(name, child, out),
    anomalies: checkinsAnomalies,
    appendix: checkinsAppendix,
  },
  // An organizer watches a large event's sale: GET …/stats latency during and after it, how
  // soon a booking shows in the figures (the stats consumer), attendees.csv of the sale.
  {
    name: 'sale-stats',
    kind: 'child',
    script: 'bench/sale-stats.ts',
    timeoutMs: { quick: 120_000, full: 300_000 },
    reportKey: 'sale_stats',
    usage: [
      'bench/sale-stats.ts in a child process, after it; 20,000',
      'seats and 300 bookings with --quick, else 100,000 and 2,000',
    ],
    read: (name, child, out) => readCheckedResult<SaleStatsRun>(name, child, out),
    anomalies: saleStatsAnomalies,
    appendix: saleStatsAppendix,
  },
  // The same buyers against the service, PGlite embedded and the classic designs.
  {
    name: 'flash-sale',
    kind: 'child',
    script: 'bench/flash-sale.ts',
    timeoutMs: { quick: 150_000, full: 1_800_000 },
    reportKey: 'flash_sale',
    passedFlags: [
      '--seats',
      '--buyers',
      '--sessions',
      '--join-connections',
      '--hold-ttl',
      '--seconds',
      '--generator-seconds',
      '--warmup-seconds',
      '--admit-per-minute',
      '--sse-subscribers',
      '--seed',
      '--targets',
    ],
    usage: [
      'bench/flash-sale.ts in a child process, after it: the flash',
      'sale against the service and the classic designs',
    ],
    read: (name, child, out) => readCheckedResult<FlashSaleRun>(name, child, out),
    anomalies: flashSaleAnomalies,
  },
  // The web app's seat map in Debian's chromium: first draw of 4K/20K/100K-seat maps, pan and
  // zoom frames, a hold reaching an open page.
  {
    name: 'web-seat-map',
    kind: 'child',
    script: 'bench/web-seat-map.ts',
    timeoutMs: { quick: 150_000, full: 600_000 },
    reportKey: 'web_seat_map',
    usage: [
      'bench/web-seat-map.ts in a child process, last: the',
      "web app's seat map in chromium (100,000 seats only with --quick)",
    ],
    read: (name, child, out) => readCheckedResult<WebSeatMapRun>(name, child, out),
    anomalies: webSeatMapAnomalies,
    appendix: webSeatMapAppendix,
  },
];

/** What each kind of load scenario does (see Kind). */
export const kinds: Record<ScenarioKind, Kind<ScenarioResult>> = {
  'create-event': createEventKind,
  'hold-uncontended': holdKind,
  'hold-contended': holdKind,
  purchase: purchaseKind,
  search: searchKind,
};

export const isChild = (scenario: ScenarioDef | ChildScenarioDef): scenario is ChildScenarioDef =>
  scenario.kind === 'child';

/** The load scenarios (create-event, hold-*, purchase, search), in table order. */
export const loadScenarios = scenarios.filter((scenario): scenario is ScenarioDef => !isChild(scenario));
/** The child-process scenarios, in table order. */
export const childScenarios = scenarios.filter(isChild);
