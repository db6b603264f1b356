// The designs the flash sale (bench/flash-sale.ts) runs the same buyers against, in the order
// they run, and their traits: everything the run, its checks and its report need to know of one.
import type { BuyerMode } from './flash-hold.ts';

/**
 * Where a design runs: bench/baseline-server.ts (the load generator's ceiling and the classic
 * designs, one process), the service on PostgreSQL + Redis, or the service embedded (PGlite,
 * its Redis roles in-process).
 */
export type DesignServer = 'baseline' | 'service' | 'embedded';

export interface Design {
  label: string;
  server: DesignServer;
  /** Uses the run's PostgreSQL database (its CPU and commits are measured). */
  postgres: boolean;
  /** Uses the machine's Redis (its CPU is measured). */
  redis: boolean;
  /** Must never oversell nor hold part of a hold: a failed check fails the run (setnx is there to show that it does). */
  atomic: boolean;
  /** Every buyer joins the event's waiting room and waits to be admitted. */
  waitingRoom: boolean;
  /** SSE subscribers time each hold's change on the seat map stream. */
  sse: boolean;
  /**
   * The service's WORKERS: its processes (node:cluster, sharing the port). Designs with the
   * same server and workers share one server process; 1 for the baseline and embedded servers.
   */
  workers: number;
  /**
   * How its buyers ask for seats: pick them from the map they read, or ask the server for the
   * best available (issue 19; the service only: the classic designs have no such request).
   */
  buyers: BuyerMode;
}

const baseline = { server: 'baseline', waitingRoom: false, sse: false, workers: 1, buyers: 'pick' } as const;

export const designs = {
  generator: {
    ...baseline,
    label: 'load generator alone (GET /v1/ping)',
    postgres: false,
    redis: false,
    atomic: false,
  },
  pessimistic: { ...baseline, label: 'pessimistic: SELECT … FOR UPDATE', postgres: true, redis: false, atomic: true },
  optimistic: { ...baseline, label: 'optimistic: version-checked UPDATE', postgres: true, redis: false, atomic: true },
  setnx: { ...baseline, label: 'per-seat Redis SET NX', postgres: false, redis: true, atomic: false },
  lua: { ...baseline, label: 'ceiling: bare Fastify + Lua hold', postgres: false, redis: true, atomic: true },
  service: {
    label: 'Boxoffice, PostgreSQL + Redis, waiting room',
    server: 'service',
    postgres: true,
    redis: true,
    atomic: true,
    waitingRoom: true,
    sse: true,
    workers: 1,
    buyers: 'pick',
  },
  // The same service and event settings, its buyers asking for the best available (same server process).
  'service-best': {
    label: 'Boxoffice, PostgreSQL + Redis, waiting room, best available',
    server: 'service',
    postgres: true,
    redis: true,
    atomic: true,
    waitingRoom: true,
    sse: true,
    workers: 1,
    buyers: 'best',
  },
  'service-direct': {
    label: 'Boxoffice, PostgreSQL + Redis, no waiting room',
    server: 'service',
    postgres: true,
    redis: true,
    atomic: true,
    waitingRoom: false,
    sse: true,
    workers: 1,
    buyers: 'pick',
  },
  // The service as one would deploy it on this 2-core machine: one process per core.
  'service-direct-workers': {
    label: 'Boxoffice, PostgreSQL + Redis, no waiting room, WORKERS=2',
    server: 'service',
    postgres: true,
    redis: true,
    atomic: true,
    waitingRoom: false,
    sse: true,
    workers: 2,
    buyers: 'pick',
  },
  embedded: {
    label: 'Boxoffice embedded (PGlite, in-process), waiting room',
    server: 'embedded',
    postgres: false,
    redis: false,
    atomic: true,
    waitingRoom: true,
    sse: true,
    workers: 1,
    buyers: 'pick',
  },
} as const satisfies Record<string, Design>;

export type TargetName = keyof typeof designs;

/** Every design, in the order they run. */
export const targetNames = Object.keys(designs) as TargetName[];
