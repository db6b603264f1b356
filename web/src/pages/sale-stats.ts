// The organizer's live view of a sale (/organize/events/{id}/stats): the figures of
// GET /v1/events/{id}/stats as numbers, kept live by its stream (one `stats` message per
// change, at most one a second), two charts drawn with uPlot (bookings per minute over the
// last hour; seats sold, held and available since the page opened), revenue by price tier,
// the waiting room, and the attendee list as CSV.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './sale-stats.css';
import { apiBlob, api, describeError } from '../api.ts';
import { h, replace } from '../dom.ts';
import { dateTime, money } from '../format.ts';
import type { PageContext } from '../main.ts';
import { currentSession } from '../session.ts';
import { openAuthorizedStream } from '../sse.ts';

export interface SaleStats {
  event_id: string;
  name: string;
  status: string;
  currency: string;
  as_of: string;
  seats: { total: number; sold: number; held: number; available: number; blocked: number; source: string };
  sales: {
    bookings: number;
    bookings_cancelled: number;
    seats_booked: number;
    seats_cancelled: number;
    seats_sold: number;
    gross_cents: number;
    refunded_cents: number;
    net_cents: number;
  };
  tiers: {
    price_tier: string;
    name: string;
    price_cents: number;
    seats_total: number;
    seats_sold: number;
    revenue_cents: number;
  }[];
  bookings_per_minute: {
    window_minutes: number;
    from: string;
    minutes: { minute: string; bookings: number; seats: number }[];
  };
  refunds: { count: number; cents: number; failing: number };
  queue: {
    enabled: boolean;
    paused: boolean;
    admit_per_minute: number;
    max_active_shoppers: number | null;
    waiting: number | null;
    admitted_now: number | null;
  };
}

/** Points kept for the seats-over-time chart (an hour at one message a second). */
const seatPointsMax = 3_600;
const chartHeight = 220;
const blobUrlLifetimeMs = 60_000;

/** One figure: a label over a number, found by its test id. */
function figure(label: string, testId: string) {
  const value = h('dd', { 'data-testid': testId }, '–');
  return { element: h('div', { class: 'stats-figure' }, h('dt', {}, label), value), value };
}

export async function renderSaleStats(context: PageContext) {
  if (!context.requireSignIn()) return;
  const session = currentSession()!;
  const eventId = context.params.eventId!;
  const path = `/v1/events/${encodeURIComponent(eventId)}`;
  let first: SaleStats;
  try {
    first = await api<SaleStats>(`${path}/stats`);
  } catch (error) {
    replace(
      context.root,
      h(
        'div',
        { class: 'panel narrow', role: 'alert', 'data-testid': 'stats-refused' },
        h('h1', {}, 'Live sale'),
        h('p', {}, describeError(error)),
        h('p', {}, `Signed in as ${session.userId}: only the event's organizer (or an admin) sees its sale.`),
      ),
    );
    return;
  }
  context.setTitle(`Live sale · ${first.name}`);

  const sold = figure('Sold', 'stats-sold');
  const held = figure('Held', 'stats-held');
  const available = figure('Available', 'stats-available');
  const blocked = figure('Blocked', 'stats-blocked');
  const bookings = figure('Bookings', 'stats-bookings');
  const gross = figure('Gross', 'stats-gross');
  const net = figure('Net of refunds', 'stats-net');
  const refunds = figure('Refunds', 'stats-refunds');
  const waiting = figure('In line', 'stats-queue-waiting');
  const admitted = figure('Shopping now', 'stats-queue-admitted');
  const rate = figure('Admission rate', 'stats-queue-rate');
  const tierRows = h('tbody', { 'data-testid': 'stats-tiers' });
  const live = h('span', { class: 'stats-live', 'data-testid': 'stats-live' }, 'connecting…');
  const asOf = h('span', { class: 'hint' });
  const csvError = h('p', { class: 'form-error', role: 'alert' });
  const csvButton = h('button', { type: 'button', 'data-testid': 'attendees-csv' }, 'Download attendees (CSV)');
  const perMinuteBox = h('div', { class: 'stats-chart', 'data-testid': 'chart-bookings-per-minute' });
  const seatsBox = h('div', { class: 'stats-chart', 'data-testid': 'chart-seats' });

  const perMinute = new uPlot(
    {
      width: 600,
      height: chartHeight,
      title: 'Bookings per minute (last hour)',
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [
        {},
        { label: 'Bookings', stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.15)', width: 2 },
        { label: 'Seats', stroke: '#16a34a', width: 1.5, dash: [4, 3] },
      ],
    },
    [[], [], []],
    perMinuteBox,
  );
  const seatTimes: number[] = [];
  const seatSeries: [number[], number[], number[]] = [[], [], []];
  const seatsChart = new uPlot(
    {
      width: 600,
      height: chartHeight,
      title: 'Seats since you opened this page',
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [
        {},
        { label: 'Sold', stroke: '#dc2626', width: 2 },
        { label: 'Held', stroke: '#d97706', width: 2 },
        { label: 'Available', stroke: '#16a34a', width: 2 },
      ],
    },
    [seatTimes, ...seatSeries],
    seatsBox,
  );
  const charts = [perMinute, seatsChart];
  const resize = new ResizeObserver(() => {
    for (const chart of charts) {
      const width = Math.max(260, chart.root.parentElement?.clientWidth ?? 600);
      if (width !== chart.width) chart.setSize({ width, height: chartHeight });
    }
  });
  resize.observe(perMinuteBox);

  const show = (stats: SaleStats) => {
    const price = (cents: number) => money(cents, stats.currency);
    sold.value.textContent = `${stats.seats.sold} of ${stats.seats.total}`;
    sold.value.dataset.value = String(stats.seats.sold);
    held.value.textContent = String(stats.seats.held);
    available.value.textContent = String(stats.seats.available);
    blocked.value.textContent = String(stats.seats.blocked);
    bookings.value.textContent = String(stats.sales.bookings);
    bookings.value.dataset.value = String(stats.sales.bookings);
    gross.value.textContent = price(stats.sales.gross_cents);
    net.value.textContent = price(stats.sales.net_cents);
    refunds.value.textContent =
      `${stats.refunds.count} · ${price(stats.refunds.cents)}` +
      (stats.refunds.failing > 0 ? ` (${stats.refunds.failing} failing, retried)` : '');
    const queue = stats.queue;
    waiting.value.textContent = !queue.enabled ? 'off' : String(queue.waiting ?? '?');
    admitted.value.textContent = !queue.enabled ? '–' : String(queue.admitted_now ?? '?');
    rate.value.textContent = !queue.enabled
      ? '–'
      : queue.paused
        ? `paused (${queue.admit_per_minute}/min when resumed)`
        : `${queue.admit_per_minute} per minute`;
    replace(
      tierRows,
      stats.tiers.map((tier) =>
        h(
          'tr',
          { 'data-tier': tier.price_tier },
          h('th', { scope: 'row' }, tier.name),
          h('td', {}, price(tier.price_cents)),
          h('td', {}, `${tier.seats_sold} of ${tier.seats_total}`),
          h('td', { 'data-testid': 'tier-revenue' }, price(tier.revenue_cents)),
        ),
      ),
    );
    asOf.textContent = `as of ${dateTime(stats.as_of)}`;

    // Bookings per minute: every minute of the window, those without bookings at 0.
    const fromS = Date.parse(stats.bookings_per_minute.from) / 1000;
    const byMinute = new Map(
      stats.bookings_per_minute.minutes.map((minute) => [Date.parse(minute.minute) / 1000, minute]),
    );
    const xs: number[] = [];
    const perMinuteBookings: number[] = [];
    const perMinuteSeats: number[] = [];
    for (let index = 0; index < stats.bookings_per_minute.window_minutes; index += 1) {
      const at = fromS + index * 60;
      xs.push(at);
      perMinuteBookings.push(byMinute.get(at)?.bookings ?? 0);
      perMinuteSeats.push(byMinute.get(at)?.seats ?? 0);
    }
    perMinute.setData([xs, perMinuteBookings, perMinuteSeats]);
    perMinuteBox.dataset.total = String(perMinuteBookings.reduce((sum, count) => sum + count, 0));

    seatTimes.push(Date.parse(stats.as_of) / 1000);
    seatSeries[0].push(stats.seats.sold);
    seatSeries[1].push(stats.seats.held);
    seatSeries[2].push(stats.seats.available);
    if (seatTimes.length > seatPointsMax) {
      seatTimes.shift();
      for (const series of seatSeries) series.shift();
    }
    seatsChart.setData([seatTimes, ...seatSeries]);
    seatsBox.dataset.points = String(seatTimes.length);
  };

  csvButton.addEventListener('click', async () => {
    csvButton.disabled = true;
    csvError.textContent = '';
    try {
      const csv = await apiBlob(`${path}/attendees.csv`, 'text/csv');
      const url = URL.createObjectURL(csv);
      const link = h('a', { href: url, download: `attendees-${eventId}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), blobUrlLifetimeMs);
    } catch (error) {
      csvError.textContent = `The attendee list could not be made: ${describeError(error)}`;
    } finally {
      csvButton.disabled = false;
    }
  });

  replace(
    context.root,
    h(
      'section',
      { class: 'panel sale-stats', 'aria-labelledby': 'stats-title' },
      h(
        'div',
        { class: 'stats-head' },
        h('h1', { id: 'stats-title' }, `Live sale · ${first.name}`),
        h('p', {}, live, ' ', asOf),
      ),
      h(
        'p',
        {},
        h('a', { href: '/organize', 'data-link': true }, '← Your events'),
        ' · ',
        h('a', { href: `/events/${encodeURIComponent(eventId)}`, 'data-link': true }, 'The event page'),
      ),
      h('h2', {}, 'Seats'),
      h('dl', { class: 'stats-figures' }, sold.element, held.element, available.element, blocked.element),
      h('h2', {}, 'Sales'),
      h('dl', { class: 'stats-figures' }, bookings.element, gross.element, net.element, refunds.element),
      h('div', { class: 'stats-charts' }, perMinuteBox, seatsBox),
      h('h2', {}, 'Revenue by price tier'),
      h(
        'table',
        { class: 'stats-tiers' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'Tier'), h('th', {}, 'Price'), h('th', {}, 'Sold'), h('th', {}, 'Revenue')),
        ),
        tierRows,
      ),
      h('h2', {}, 'Waiting room'),
      h('dl', { class: 'stats-figures' }, waiting.element, admitted.element, rate.element),
      h('h2', {}, 'Attendees'),
      h('p', {}, csvButton, ' One line per seat of every booking, with check-ins.'),
      csvError,
    ),
  );
  show(first);
  // Drawn at the width the page gives them, now that they are in it.
  for (const chart of charts) chart.setSize({ width: Math.max(260, perMinuteBox.clientWidth), height: chartHeight });

  const close = openAuthorizedStream(`${path}/stats/stream`, {
    onMessage: (message) => {
      if (message.event === 'stats') show(JSON.parse(message.data) as SaleStats);
    },
    onRefused: (_status, body) => {
      live.textContent = `stopped: ${body.slice(0, 200)}`;
      live.dataset.state = 'stopped';
    },
    onConnectionChange: (connected) => {
      live.textContent = connected ? 'live' : 'reconnecting…';
      live.dataset.state = connected ? 'live' : 'reconnecting';
    },
  });
  return () => {
    close();
    resize.disconnect();
    for (const chart of charts) chart.destroy();
  };
}
