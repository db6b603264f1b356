// The hold gate's rules, one specification for both seat boards: the in-process board
// (adapters/memory/seat-board.ts) calls these functions, the Redis board implements them in
// Lua (adapters/redis/lua/gate.lua, best.lua, abandon.lua, apply.lua). Both are checked against a
// reference built on them by test/integration/seat-board-rules.test.ts.

/**
 * A gate entry per seat: F free, H held (until expiresAtMs, by holder), P provisionally
 * taken by a gate pass (until expiresAtMs), B booked, K blocked (an organizer's hold). version is the PostgreSQL seat
 * version the entry reflects (a P entry keeps the version it replaced).
 */
export interface GateEntry {
  state: 'F' | 'H' | 'P' | 'B' | 'K';
  version: number;
  expiresAtMs: number;
  holder: string;
}

/** The gate entry state of a seat PostgreSQL reports in a status. */
export const gateLetter = { available: 'F', held: 'H', booked: 'B', blocked: 'K' } as const;

/** Whether an entry refuses a new hold at nowMs: holds and passes lapse at their expiry. */
export function isBlocking(entry: GateEntry | undefined, nowMs: number): boolean {
  if (!entry) return false;
  if (entry.state === 'B' || entry.state === 'K') return true;
  return (entry.state === 'H' || entry.state === 'P') && entry.expiresAtMs > nowMs;
}

/**
 * The entry a seat takes when PostgreSQL reports a state (newest version wins; null: the
 * report is older than the entry, ignored). A report that the seat is free does not undo
 * a live gate pass: the pass is a hold being recorded, taken after the state that report
 * ends (a hold lapsing, a block released), and PostgreSQL's answer to it comes next; the
 * pass keeps the seat, at the report's version, until then. Without this, a freed seat
 * handed to one buyer was handed again to the next (best available sends every buyer to
 * the best seat just freed).
 */
export function appliedEntry(
  current: GateEntry | undefined,
  state: { status: keyof typeof gateLetter; version: number; expiresAtMs: number | null; holder: string | null },
  nowMs: number,
): GateEntry | null {
  if (current && current.version >= state.version) return null;
  if (state.status === 'available' && current?.state === 'P' && current.expiresAtMs > nowMs) {
    return { ...current, version: state.version };
  }
  const held = state.status === 'held';
  return {
    state: gateLetter[state.status],
    version: state.version,
    expiresAtMs: held ? (state.expiresAtMs ?? 0) : 0,
    holder: held ? (state.holder ?? '') : '',
  };
}

/**
 * The version a rebuilt map starts at: above any version before it. Versions count
 * changes from nowMs × 1000, so a rebuild starts past every earlier version unless
 * the map changed more than 1,000 times a millisecond on average since the last one.
 */
export function epochVersion(nowMs: number, previous: number): number {
  return Math.max(nowMs * 1000, previous + 1);
}
