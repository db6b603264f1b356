// The flash-sale scenario's tables (markdown) and chart (SVG), from its JSON result.
import { designs } from './flash-designs.ts';
import type { FlashSaleRun, TargetRun } from './flash-sale.ts';
import { renderBuyerModes } from './flash-scope-report.ts';
import { dashes, markdownTable, right } from './markdown.ts';
import { outboxTable } from './outbox-figures.ts';

const n0 = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US');
const n1 = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? '–'
    : value.toLocaleString('en-US', { maximumFractionDigits: value < 10 ? 2 : 1 });
const pct = (value: number | null | undefined) => (value === null || value === undefined ? '–' : `${n1(value * 100)}%`);
const ratio = (value: number | null) => (value === null || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}×`);

/** The service row every other row is compared with: the same buyers without a waiting room, else with one. */
export function referenceRun(run: FlashSaleRun): TargetRun | null {
  return (
    run.targets.find((t) => t.name === 'service-direct' && t.figures) ??
    run.targets.find((t) => t.name === 'service' && t.figures) ??
    null
  );
}

function correctness(target: TargetRun): string {
  if (target.error) return `FAIL: ${target.error}`;
  if (!target.check) return '–';
  const figures = `oversold ${target.check.oversold_seats}, partial holds ${target.check.partial_holds}`;
  if (target.check.ok) return `OK: ${figures}`;
  return target.check.judged ? `FAIL: ${target.check.problems.join('; ')}` : `counted (not judged): ${figures}`;
}

/** The side-by-side table: one row per design, the service's ratio to each. */
export function renderComparison(run: FlashSaleRun): string[] {
  const reference = referenceRun(run);
  const ref = reference?.figures;
  const columns = [
    'Design',
    ...['Sold out in s', 'Seats booked', 'Seats/s', 'Hold req/s', 'Holds 201/s'].map(right),
    ...['Reserve p50 / p99 / p99.9 ms', '409 rate', 'Confirm p99 ms', 'Oversold', 'Partial holds'].map(right),
    ...['Service ÷ this, hold req/s', 'This p99 ÷ service p99'].map(right),
    'Correctness',
  ];
  const rows = run.targets
    .filter((target) => target.name !== 'generator')
    .map((target) => {
      const f = target.figures;
      if (!f) return [target.label, ...dashes(12), correctness(target)];
      const hold = f.requests.hold.latency_ms.all;
      const refHold = ref?.requests.hold.latency_ms.all;
      return [
        target.label,
        f.sold_out ? n1(f.sell_out_s) : `not in ${n1(f.elapsed_s)}`,
        `${n0(f.seats_booked)} of ${n0(target.seats)}`,
        n1(f.seats_per_s),
        n0(f.hold_requests_per_s),
        n0(f.holds_per_s),
        `${n1(hold.p50)} / ${n1(hold.p99)} / ${n1(hold.p99_9)}`,
        pct(f.hold_409_rate),
        n1(f.requests.confirm.latency_ms.all.p99),
        String(target.check?.oversold_seats ?? '–'),
        String(target.check?.partial_holds ?? '–'),
        ratio(ref ? ref.hold_requests_per_s / f.hold_requests_per_s : null),
        ratio(refHold ? hold.p99 / refHold.p99 : null),
        correctness(target),
      ];
    });
  const lines = markdownTable(columns, rows);
  lines.push(
    '',
    `Ratios against "${reference?.label ?? '–'}" in the same run. Hold req/s and seats/s are over the sale's window ` +
      '(first request to the confirm that booked the last seat, or the whole run when it did not sell out).',
  );
  return lines;
}

const perSeat = (count: number | null | undefined, target: TargetRun) =>
  count === null || count === undefined || !target.figures?.seats_booked ? null : count / target.figures.seats_booked;
const judged = (text: string, met: boolean | null) => (met === null ? text : `${text} (${met ? 'met' : 'MISSED'})`);

/**
 * Each service row against the bar issue 16 sets: seats booked per second above those of the
 * pessimistic, optimistic and Lua designs, at most 0.5 PostgreSQL commits per seat booked, and
 * a confirm p99 at most twice the hold p99.
 */
export function renderBar(run: FlashSaleRun): string[] {
  const services = run.targets.filter((t) => t.figures && designs[t.name].server !== 'baseline');
  const classic = (['pessimistic', 'optimistic', 'lua'] as const).map((name) =>
    run.targets.find((t) => t.name === name && t.figures),
  );
  const rows = services.map((t) => {
    const f = t.figures!;
    const commits = perSeat(t.postgres?.commits, t);
    const confirmOverHold = f.requests.confirm.latency_ms.all.p99 / f.requests.hold.latency_ms.all.p99;
    return [
      t.label,
      n1(f.seats_per_s),
      ...classic.map((other) => {
        if (!other) return '–';
        const times = f.seats_per_s / other.figures!.seats_per_s;
        return judged(ratio(times), Number.isFinite(times) ? times > 1 : null);
      }),
      commits === null ? '–' : judged(n1(commits), commits <= 0.5),
      n1(perSeat(t.postgres?.wal_syncs, t)),
      Number.isFinite(confirmOverHold) ? judged(ratio(confirmOverHold), confirmOverHold <= 2) : '–',
    ];
  });
  return [
    ...markdownTable(
      [
        'Service',
        ...[
          'Seats/s',
          '÷ pessimistic seats/s (bar: > 1)',
          '÷ optimistic seats/s (bar: > 1)',
          '÷ Lua seats/s (bar: > 1)',
          'PostgreSQL commits per seat booked (bar: ≤ 0.5)',
          'WAL flushes per seat booked',
          'Confirm p99 ÷ reserve p99 (bar: ≤ 2)',
        ].map(right),
      ],
      rows,
    ),
    '',
    "Commits are the run database's committed transactions (`pg_stat_database.xact_commit`, read-only ones included); " +
      'WAL flushes are `pg_stat_wal.wal_sync`, the fsyncs of the WAL, which concurrent commits share (group commit), ' +
      "but of the whole PostgreSQL server: the CPU table's _other databases' commits_ tell whether anything else wrote " +
      'meanwhile.',
  ];
}

export function renderFlashMarkdown(run: FlashSaleRun): string {
  const s = run.settings;
  const lines: string[] = [
    `# Flash sale, ${run.started_at} (${run.mode})`,
    '',
    `${n0(s.seat_count)} seats (${s.layout.sections} sections × ${s.layout.rows} rows × ${s.layout.seatsPerRow}), ` +
      `${n0(s.buyers)} buyers worked through by ${s.sessions} concurrent buyer sessions, hold TTL ${s.holdTtlSeconds} s, ` +
      `${pct(s.confirm_share)} confirm / ${pct(1 - s.confirm_share)} walk away, at most ${s.seconds} s a design; ` +
      `waiting room admitting ${n0(s.admitPerMinute)}/min, ${s.joinConnections} join connections · node ${run.machine.node} · ` +
      `${run.machine.cpus} CPUs · machine busy before start: ${run.machine.busy_before_start_pct ?? '–'}% of one core, ` +
      `load average ${run.machine.load_average_1m_at_start}`,
    '',
    '## Side by side (same buyers, same machine, one run)',
    '',
    ...renderComparison(run),
    '',
    "## Against issue 16's bar",
    '',
    ...renderBar(run),
    '',
    ...(() => {
      const modes = renderBuyerModes(run);
      return modes.length > 0
        ? ['## Pick from the map against best available (issue 19): every hold request judged', '', ...modes, '']
        : [];
    })(),
    '## The service',
    '',
  ];
  const services = run.targets.filter((t) => t.figures && designs[t.name].server !== 'baseline');
  if (services.length > 0) {
    const row = (label: string, cell: (t: TargetRun, f: NonNullable<TargetRun['figures']>) => string) => [
      label,
      ...services.map((t) => cell(t, t.figures!)),
    ];
    const latency =
      (kind: keyof NonNullable<TargetRun['figures']>['requests']) =>
      (_: TargetRun, f: NonNullable<TargetRun['figures']>) => {
        const l = f.requests[kind].latency_ms.all;
        return l.count ? `${n1(l.p50)} / ${n1(l.p99)} / ${n1(l.p99_9)} (${n0(l.count)})` : '–';
      };
    const rows = [
      row('Sell-out time s', (_, f) => (f.sold_out ? n1(f.sell_out_s) : `not sold out in ${n1(f.elapsed_s)} s`)),
      row('Seats booked', (t, f) => `${n0(f.seats_booked)} of ${n0(t.seats)}`),
      row('Holds per second (201)', (_, f) => n0(f.holds_per_s)),
      row('Hold requests per second', (_, f) => n0(f.hold_requests_per_s)),
      row('Reserve p50 / p99 / p99.9 ms (requests)', latency('hold')),
      row('409 rate', (_, f) => pct(f.hold_409_rate)),
      row('Confirm p50 / p99 / p99.9 ms', latency('confirm')),
      row('SSE change lag p50 / p99 ms (pairs)', (_, f) =>
        f.sse ? `${n1(f.sse.lag_ms.p50)} / ${n1(f.sse.lag_ms.p99)} (${n0(f.sse.lag_ms.count)})` : '–',
      ),
      row('Seats oversold (must be 0)', (t) => String(t.check?.oversold_seats ?? '–')),
      row('Partial holds (must be 0)', (t) => String(t.check?.partial_holds ?? '–')),
      row('Abandoned seats re-sold', (_, f) => `${n0(f.abandoned_seats_resold)} of ${n0(f.seats_abandoned)}`),
      row('Availability p50 / p99 / p99.9 ms', latency('availability')),
      row('Availability answers: full / changes since / 304', (_, f) => {
        const labels = f.requests.availability.by_label ?? {};
        return ['full', 'changes', 'not-modified'].map((label) => n0(labels[label]?.requests ?? 0)).join(' / ');
      }),
      row('Queue join p50 / p99 / p99.9 ms', latency('join')),
      row('Queue poll p50 / p99 / p99.9 ms', latency('poll')),
      row(
        'Buyers joined / admitted / had a turn',
        (_, f) =>
          `${n0(f.buyers.joined)} / ${n0(f.buyers.admitted)} / ${n0(f.buyers.started)} of ${n0(f.buyers.listed)}`,
      ),
      row('Buyers bought / walked away / gave up after 5 × 409 / found no seat / failed', (_, f) =>
        [f.buyers.bought, f.buyers.abandoned, f.buyers.gave_up_after_409s, f.buyers.found_no_seat, f.buyers.failed]
          .map(n0)
          .join(' / '),
      ),
      row('Requests per second, all kinds', (_, f) => n0(f.requests_per_s)),
      row('Stopped by', (_, f) => f.stopped_by),
    ];
    lines.push(...markdownTable(['Figure', ...services.map((t) => right(t.label))], rows));
  }
  const withOutbox = run.targets.filter((t) => t.outbox);
  if (withOutbox.length > 0) {
    lines.push(
      '',
      '## The outbox: relay and notifications consumer (issue 18)',
      '',
      ...outboxTable(withOutbox.map((t) => [t.label, t.outbox!])),
      '',
      "Each design's event only, from the database after the run: `outbox.created_at` (clock_timestamp() in the " +
        "write's transaction, so the relay lag includes that transaction until its commit), `published_at` (the " +
        "relay's stamp, after Redis took the facts) and the consumer's `consumed_facts.applied_at`; percentiles " +
        'interpolated (percentile_cont). Facts per second follow the rate the sale writes them: the relay keeps up ' +
        'when published/s ≈ written/s. The backlog was left up to 10 s after the load to drain.',
    );
  }
  for (const t of run.targets.filter((target) => target.outbox_error))
    lines.push('', `- ${t.label}: outbox figures not read: ${t.outbox_error}`);
  const generator = run.targets.find((t) => t.name === 'generator' && t.generator);
  const ceiling = generator?.generator?.requests_per_s ?? null;
  const generatorRows = generator?.generator
    ? [
        [
          `${generator.label}, ${run.settings.sessions} connections`,
          n0(ceiling),
          `${n1(generator.generator.load.latency_ms.all.p50)} / ${n1(generator.generator.load.latency_ms.all.p99)}`,
          `${generator.cpu?.bench_client ?? '–'}%`,
          `${generator.cpu?.server ?? '–'}%`,
          '1.00×',
        ],
      ]
    : [];
  const targetRows = run.targets.flatMap((t) =>
    t.figures
      ? [
          [
            t.label,
            n0(t.figures.requests_per_s),
            '–',
            `${t.cpu?.bench_client ?? '–'}%`,
            `${t.cpu?.server ?? '–'}%`,
            ratio(ceiling ? ceiling / t.figures.requests_per_s : null),
          ],
        ]
      : [],
  );
  lines.push(
    '',
    '## The load generator (is it the bottleneck?)',
    '',
    ...markdownTable(
      ['Run', ...['Requests/s', 'p50 / p99 ms', 'Bench CPU', 'Server CPU', 'Generator ceiling ÷ this run'].map(right)],
      [...generatorRows, ...targetRows],
    ),
  );
  const cpuColumns = ['Server', 'PostgreSQL', 'Redis', 'Bench (load generator)', 'Machine', 'Other'];
  lines.push(
    '',
    '## CPU during each run (% of one core; 2 cores = 200%)',
    '',
    ...markdownTable(
      [
        'Run',
        ...[
          ...cpuColumns,
          'PostgreSQL commits (per seat booked)',
          'WAL flushes (per seat booked)',
          'Rollbacks',
          "Other databases' commits",
        ].map(right),
      ],
      run.targets.map((t) => [
        t.label,
        ...[t.cpu?.server, t.cpu?.postgres, t.cpu?.redis, t.cpu?.bench_client, t.cpu?.machine, t.cpu?.other].map(
          (value) => `${value ?? '–'}%`,
        ),
        ...(t.postgres
          ? [
              `${n0(t.postgres.commits)} (${n1(perSeat(t.postgres.commits, t))})`,
              t.postgres.wal_syncs === null
                ? '–'
                : `${n0(t.postgres.wal_syncs)} (${n1(perSeat(t.postgres.wal_syncs, t))})`,
              n0(t.postgres.rollbacks),
              n0(t.postgres.other_databases_commits),
            ]
          : ['–', '–', '–', '–']),
      ]),
    ),
    '',
    "PostgreSQL CPU is this run's database backends plus the shared processes (WAL writer, checkpointer, autovacuum), " +
      'which also work for anything else on the same server; "Other" is everything else the machine ran meanwhile. ' +
      'Server CPU is the server process with its workers (WORKERS > 1). WAL flushes are the whole PostgreSQL ' +
      "server's (`pg_stat_wal.wal_sync`): other databases' commits during the run would add theirs.",
    '',
    '## Checks',
    '',
    run.checks.ok
      ? 'OK: no seat oversold and no partial hold in the service or the atomic designs.'
      : `FAIL: ${run.checks.problems.join('; ')}`,
  );
  for (const t of run.targets) {
    if (t.check && !t.check.ok)
      lines.push('', `- ${t.label}: ${t.check.problems.join('; ')}${t.check.judged ? '' : ' (counted, not judged)'}`);
  }
  for (const warning of run.server_warnings.slice(0, 10)) lines.push(`- server logged: ${warning}`);
  lines.push('');
  return lines.join('\n');
}

// ---------------------------------------------------------------- SVG

const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

/** One line panel: x in seconds, y linear from 0 or log10. */
function linePanel(top: number, title: string, yLabel: string, series: Series[], log: boolean): string[] {
  const left = 70;
  const width = 560;
  const height = 180;
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => (log ? y > 0 : true));
  const xMax = Math.max(1, ...xs);
  const yMin = log ? Math.max(0.1, Math.min(...ys, 1)) : 0;
  const yMax = Math.max(log ? 10 : 1, ...ys);
  const fy = (y: number) =>
    log
      ? top +
        height -
        ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * height
      : top + height - (y / yMax) * height;
  const fx = (x: number) => left + (x / xMax) * width;
  const out = [
    `<text x="${left}" y="${top - 8}" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#999"/>`,
    `<text x="${left - 8}" y="${top + 10}" font-size="10" text-anchor="end">${escapeXml(yLabel)} ${n1(yMax)}</text>`,
    `<text x="${left - 8}" y="${top + height}" font-size="10" text-anchor="end">${n1(yMin)}</text>`,
    `<text x="${left + width}" y="${top + height + 14}" font-size="10" text-anchor="end">${n1(xMax)} s</text>`,
    `<text x="${left}" y="${top + height + 14}" font-size="10">0 s</text>`,
  ];
  for (const s of series) {
    const points = s.points.filter(([, y]) => !log || y > 0);
    if (points.length === 0) continue;
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${points
        .map(([x, y]) => `${fx(x).toFixed(1)},${fy(y).toFixed(1)}`)
        .join(' ')}"/>`,
    );
  }
  return out;
}

/** Throughput over time, sell-out over time, and reserve latency percentiles, one colour per design. */
export function renderFlashSvg(run: FlashSaleRun): string {
  const targets = run.targets.filter((t) => t.figures);
  const colorOf = new Map(targets.map((t, i) => [t.name, palette[i % palette.length]!]));
  const series = (
    point: (second: NonNullable<TargetRun['figures']>['timeline'][number], t: TargetRun) => number | null,
  ) =>
    targets.map((t) => ({
      label: t.label,
      color: colorOf.get(t.name)!,
      points: t.figures!.timeline.flatMap((second): [number, number][] => {
        const y = point(second, t);
        return y === null ? [] : [[second.second + 0.5, y]];
      }),
    }));
  const parts: string[] = [
    ...linePanel(
      40,
      'Hold requests per second',
      'req/s',
      series((s) => s.hold_requests),
      false,
    ),
    ...linePanel(
      280,
      'Seats booked (share of the event)',
      '',
      series((s, t) => s.seats_booked / t.seats),
      false,
    ),
    ...linePanel(
      520,
      'Reserve p99 per second (log scale)',
      'ms',
      series((s) => s.reserve_p99_ms),
      true,
    ),
  ];
  // Percentile bars: p50, p99, p99.9 of every hold request, log scale.
  const top = 780;
  const left = 70;
  const height = 180;
  const all = targets.map((t) => t.figures!.requests.hold.latency_ms.all);
  const yMax = Math.max(10, ...all.map((l) => l.p99_9).filter(Number.isFinite));
  const fy = (y: number) => top + height - ((Math.log10(Math.max(y, 0.1)) + 1) / (Math.log10(yMax) + 1)) * height;
  parts.push(
    `<text x="${left}" y="${top - 8}" font-size="13" font-weight="bold">Reserve latency p50 / p99 / p99.9 (log scale, ms)</text>`,
    `<rect x="${left}" y="${top}" width="560" height="${height}" fill="none" stroke="#999"/>`,
    `<text x="${left - 8}" y="${top + 10}" font-size="10" text-anchor="end">${n1(yMax)}</text>`,
    `<text x="${left - 8}" y="${top + height}" font-size="10" text-anchor="end">0.1</text>`,
  );
  const slot = 560 / Math.max(1, targets.length);
  targets.forEach((t, i) => {
    const l = all[i]!;
    [l.p50, l.p99, l.p99_9].forEach((value, k) => {
      if (!Number.isFinite(value)) return;
      const x = left + i * slot + 6 + k * ((slot - 12) / 3);
      const y = fy(value);
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${((slot - 12) / 3 - 2).toFixed(1)}" height="${(top + height - y).toFixed(1)}" fill="${colorOf.get(t.name)}" opacity="${[0.45, 0.75, 1][k]}"><title>${escapeXml(`${t.label}: ${['p50', 'p99', 'p99.9'][k]} ${value} ms`)}</title></rect>`,
        `<text x="${(x + (slot - 12) / 6).toFixed(1)}" y="${(y - 2).toFixed(1)}" font-size="8" text-anchor="middle">${n1(value)}</text>`,
      );
    });
  });
  // Legend.
  targets.forEach((t, i) => {
    const y = 70 + i * 18;
    parts.push(
      `<rect x="650" y="${y - 9}" width="12" height="12" fill="${colorOf.get(t.name)}"/>`,
      `<text x="668" y="${y + 1}" font-size="11">${escapeXml(t.label)}</text>`,
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="960" height="1000" font-family="sans-serif" viewBox="0 0 960 1000">`,
    `<rect width="960" height="1000" fill="white"/>`,
    `<text x="70" y="18" font-size="14">Flash sale ${escapeXml(run.started_at)} (${run.mode}): ${n0(run.settings.seat_count)} seats, ${n0(run.settings.buyers)} buyers, ${run.settings.sessions} sessions</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
