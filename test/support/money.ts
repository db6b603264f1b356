// The money invariant, checked in the database (and against the provider's own ledger when
// a test has it): whatever raced or failed, every cent charged is either still paying for a
// booked seat, refunded, or a fee the refund policy kept, and nothing is refunded twice.
//
// For every booking (its charge is the one succeeded payment whose charge_id it names):
//   charged = booked value + refunded + fees kept
// where the booked value is the price of the seats it still holds, refunded the amounts of its
// refund rows (whatever their state: a failed one is tried again, never dropped), and the fees
// kept are its refunds' fee_cents plus the price of seats taken back with nothing due (a 100%
// fee). The seats it holds and the seats it gave back (refunded_seats) are disjoint and
// together are the seats it was bought with. A charge that booked nothing is refunded whole,
// once. A payment's refunded_cents is the sum of its refunds and never above its amount.
import type { LedgerIntent, SimulatedRefund } from '../../src/adapters/payments/stripe-simulation.ts';
import type { Database } from '../../src/adapters/postgres/database.ts';
import type { Runtime } from '../../src/runtime.ts';

/** The provider's side: the test provider (TestPayments) and the Stripe stand-in both offer it. */
export interface ProviderLedger {
  charges(): LedgerIntent[];
  refunds(): SimulatedRefund[];
}

export interface MoneyCheckOptions {
  /** Compare with the provider's ledger: charges it knows, refunds it made. */
  provider?: ProviderLedger;
  /**
   * Everything due has been done (refund job run, webhooks delivered): no refund pending or
   * failed, and the ledger and the provider agree to the cent on every charge.
   */
  settled?: boolean;
}

type Target = { runtime: Runtime } | Database;

const dbOf = (target: Target): Database => ('runtime' in target ? target.runtime.db : target);

/** Every way the money does not add up, described; empty when it does. */
export async function moneyProblems(target: Target, options: MoneyCheckOptions = {}): Promise<string[]> {
  const db = dbOf(target);
  const problems: string[] = [];
  const report = (what: string, rows: Record<string, unknown>[]) => {
    if (rows.length > 0) problems.push(`${what}: ${JSON.stringify(rows.slice(0, 5))}`);
  };

  // Per booking: its charge, and where every cent of it went.
  const bookings = await db.query<{
    booking_id: string;
    total_cents: number;
    status: string;
    seats_left: number;
    given_back: number;
    paying: number;
    charged: number;
    booked_value: number;
    taken_back_value: number;
    refunded: number;
    fees: number;
    kept_whole: number;
  }>(
    `SELECT b.id AS booking_id, b.total_cents::bigint AS total_cents, b.status, cardinality(b.seat_nos) AS seats_left,
       (SELECT count(*) FROM refunded_seats rs WHERE rs.booking_id = b.id)::int AS given_back,
       (SELECT count(*) FROM payments p WHERE p.charge_id = b.charge_id AND p.status = 'succeeded')::int AS paying,
       (SELECT coalesce(sum(p.amount_cents), 0) FROM payments p
        WHERE p.charge_id = b.charge_id AND p.status = 'succeeded')::bigint AS charged,
       (SELECT coalesce(sum(s.price_cents), 0) FROM seats s
        WHERE s.event_id = b.event_id AND s.seat_no = ANY(b.seat_nos))::bigint AS booked_value,
       (SELECT coalesce(sum(s.price_cents), 0) FROM refunded_seats rs
        JOIN seats s ON s.event_id = b.event_id AND s.seat_no = rs.seat_no WHERE rs.booking_id = b.id)::bigint
         AS taken_back_value,
       (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f WHERE f.booking_id = b.id)::bigint AS refunded,
       (SELECT coalesce(sum(f.fee_cents), 0) FROM refunds f WHERE f.booking_id = b.id)::bigint AS fees,
       (SELECT coalesce(sum(s.price_cents), 0) FROM refunded_seats rs
        JOIN seats s ON s.event_id = b.event_id AND s.seat_no = rs.seat_no
        WHERE rs.booking_id = b.id AND rs.refund_id IS NULL)::bigint AS kept_whole
     FROM bookings b ORDER BY b.id`,
  );
  const money = bookings.rows.map((row) => ({
    ...row,
    total_cents: Number(row.total_cents),
    charged: Number(row.charged),
    booked_value: Number(row.booked_value),
    taken_back_value: Number(row.taken_back_value),
    refunded: Number(row.refunded),
    fees: Number(row.fees),
    kept_whole: Number(row.kept_whole),
  }));
  report(
    'bookings not paid for by exactly one succeeded payment of their total',
    money.filter((row) => row.paying !== 1 || row.charged !== row.total_cents),
  );
  report(
    'bookings whose charge is not booked value + refunded + fees kept',
    money.filter((row) => row.charged !== row.booked_value + row.refunded + row.fees + row.kept_whole),
  );
  report(
    'bookings whose seats held and given back are not the seats bought',
    money.filter((row) => row.booked_value + row.taken_back_value !== row.total_cents),
  );
  report(
    'bookings whose status disagrees with the seats they hold',
    money.filter((row) => {
      const expected = row.seats_left === 0 ? 'cancelled' : row.given_back > 0 ? 'partially_cancelled' : 'confirmed';
      return row.status !== expected;
    }),
  );

  // A seat is held or given back, never both; given back once (refunded_seats' key).
  report(
    'seats both held by a booking and given back by it',
    (
      await db.query(
        `SELECT rs.booking_id, rs.seat_no FROM refunded_seats rs JOIN bookings b ON b.id = rs.booking_id
         WHERE rs.seat_no = ANY(b.seat_nos)
            OR EXISTS (SELECT 1 FROM booked_seats bs WHERE bs.booking_id = b.id AND bs.seat_no = rs.seat_no)`,
      )
    ).rows,
  );

  // A booking's refund: exactly its seats, their value split into amount and fee.
  report(
    "refunds that are not exactly their seats' value, or whose seats are not recorded as theirs",
    (
      await db.query(
        `SELECT f.id, f.amount_cents, f.fee_cents FROM refunds f JOIN bookings b ON b.id = f.booking_id
         WHERE f.reason = 'hold_lost'
            OR ARRAY(SELECT x FROM unnest(f.seat_nos) AS t(x) ORDER BY x)
               IS DISTINCT FROM ARRAY(SELECT rs.seat_no FROM refunded_seats rs WHERE rs.refund_id = f.id ORDER BY rs.seat_no)
            OR f.amount_cents + f.fee_cents <> (SELECT coalesce(sum(s.price_cents), 0) FROM seats s
                                                WHERE s.event_id = b.event_id AND s.seat_no = ANY(f.seat_nos))
            OR f.payment_id <> (SELECT p.id FROM payments p WHERE p.charge_id = b.charge_id)`,
      )
    ).rows,
  );

  // A charge that booked nothing: refunded whole, once, never by seat.
  report(
    'refunds of a charge that booked nothing that are not whole',
    (
      await db.query(
        `SELECT f.id, f.amount_cents, p.amount_cents AS charged FROM refunds f JOIN payments p ON p.id = f.payment_id
         WHERE f.booking_id IS NULL
           AND (f.reason <> 'hold_lost' OR f.fee_cents <> 0 OR f.amount_cents <> p.amount_cents
                OR EXISTS (SELECT 1 FROM bookings b WHERE b.charge_id = p.charge_id))`,
      )
    ).rows,
  );
  report(
    'succeeded charges that booked nothing and are not refunded whole',
    (
      await db.query(
        `SELECT p.id, p.charge_id, p.amount_cents, p.refunded_cents FROM payments p
         WHERE p.status = 'succeeded' AND p.amount_cents > 0
           AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.charge_id = p.charge_id)
           AND (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f WHERE f.payment_id = p.id) <> p.amount_cents`,
      )
    ).rows,
  );

  // Per payment: refunded_cents is its refunds, never more than was charged.
  report(
    'payments whose refunded_cents is not the sum of their refunds, or above the charge',
    (
      await db.query(
        `SELECT p.id, p.status, p.amount_cents, p.refunded_cents,
           (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f WHERE f.payment_id = p.id)::bigint AS refunds
         FROM payments p
         WHERE p.refunded_cents <> (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f WHERE f.payment_id = p.id)
            OR p.refunded_cents > p.amount_cents OR (p.refunded_cents > 0 AND p.status <> 'succeeded')`,
      )
    ).rows,
  );

  if (options.settled) {
    report(
      'refunds not made yet (pending or failed)',
      (await db.query(`SELECT id, status, attempts, last_error FROM refunds WHERE status <> 'succeeded'`)).rows,
    );
  }

  if (options.provider) problems.push(...(await providerProblems(db, options.provider, options.settled ?? false)));
  return problems;
}

/** The ledger against the provider's own books. */
async function providerProblems(db: Database, provider: ProviderLedger, settled: boolean): Promise<string[]> {
  const problems: string[] = [];
  const payments = await db.query<{
    reservation_id: string;
    charge_id: string | null;
    status: string;
    amount_cents: number;
    refunds_made: number;
  }>(
    `SELECT p.reservation_id, p.charge_id, p.status, p.amount_cents::bigint AS amount_cents,
       (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f
        WHERE f.payment_id = p.id AND f.status = 'succeeded')::bigint AS refunds_made
     FROM payments p`,
  );
  const byCharge = new Map(payments.rows.filter((row) => row.charge_id).map((row) => [row.charge_id!, row]));
  const reservations = new Set(payments.rows.map((row) => row.reservation_id));
  const refundRows = await db.query<{ id: string; provider_refund_id: string | null; amount_cents: number }>(
    `SELECT f.id, f.provider_refund_id, f.amount_cents::bigint AS amount_cents FROM refunds f`,
  );
  const providerRefunds = new Map(provider.refunds().map((refund) => [refund.id, refund]));

  for (const intent of provider.charges()) {
    // Only this database's charges (a provider may be shared).
    if (!reservations.has(intent.metadata.reservation_id ?? '')) continue;
    if (intent.amount_refunded > intent.amount_received) {
      problems.push(`provider refunded ${intent.amount_refunded} of ${intent.amount_received} on ${intent.id}`);
    }
    const payment = byCharge.get(intent.id);
    if (!settled) continue;
    if (intent.status === 'succeeded') {
      if (!payment) {
        // A charge the ledger never recorded must have been given back in full.
        if (intent.amount_refunded !== intent.amount_received) {
          problems.push(`provider charge ${intent.id} unknown to the ledger and not refunded in full`);
        }
        continue;
      }
      if (payment.status !== 'succeeded') {
        problems.push(`provider charge ${intent.id} succeeded; the ledger says ${payment.status}`);
      }
      if (Number(payment.amount_cents) !== intent.amount_received) {
        problems.push(
          `provider charge ${intent.id} is ${intent.amount_received}; the ledger says ${payment.amount_cents}`,
        );
      }
      if (Number(payment.refunds_made) !== intent.amount_refunded) {
        problems.push(
          `provider refunded ${intent.amount_refunded} of ${intent.id}; the ledger's refunds made say ${payment.refunds_made}`,
        );
      }
    } else if (payment && payment.status === 'succeeded') {
      problems.push(`the ledger says ${intent.id} succeeded; the provider says ${intent.status}`);
    }
  }

  // Each ledger refund the provider made: made once, of the same amount.
  const seen = new Set<string>();
  for (const refund of refundRows.rows) {
    if (!refund.provider_refund_id) continue;
    if (seen.has(refund.provider_refund_id)) {
      problems.push(`provider refund ${refund.provider_refund_id} recorded by two ledger refunds`);
    }
    seen.add(refund.provider_refund_id);
    const made = providerRefunds.get(refund.provider_refund_id);
    if (!made) {
      problems.push(`ledger refund ${refund.id} names provider refund ${refund.provider_refund_id}, unknown there`);
    } else if (made.amount !== Number(refund.amount_cents)) {
      problems.push(`ledger refund ${refund.id} is ${refund.amount_cents}; the provider's is ${made.amount}`);
    }
  }
  // A ledger refund is sent under its own id (metadata.refund_id): the provider made at most one for it.
  const perLedgerRefund = new Map<string, number>();
  for (const refund of provider.refunds()) {
    const id = refund.metadata.refund_id;
    if (id) perLedgerRefund.set(id, (perLedgerRefund.get(id) ?? 0) + 1);
  }
  for (const [id, count] of perLedgerRefund) {
    if (count > 1) problems.push(`the provider made ${count} refunds for ledger refund ${id}`);
  }
  return problems;
}

/**
 * Everything a payment, refund or cancellation could change, as JSON text per table: equal
 * snapshots mean nothing changed (use with tableCounts for the rest).
 */
export async function ledgerSnapshot(target: Target): Promise<Record<string, string>> {
  const db = dbOf(target);
  const tables: [string, string][] = [
    ['payments', 'id'],
    ['refunds', 'id'],
    ['refunded_seats', 'booking_id, seat_no'],
    ['provider_events', 'id'],
    ['bookings', 'id'],
    ['booked_seats', 'event_id, seat_no'],
    ['reservations', 'id'],
    ['seats', 'event_id, seat_no'],
    ['events', 'id'],
    ['event_cancellations', 'event_id'],
    ['idempotency_keys', 'user_id, key'],
  ];
  const snapshot: Record<string, string> = {};
  for (const [table, order] of tables) {
    const { rows } = await db.query<{ rows: string }>(
      `SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY ${order}), '[]')::text AS rows
       FROM (SELECT * FROM ${table} ORDER BY ${order}) t`,
    );
    snapshot[table] = rows[0]!.rows;
  }
  return snapshot;
}

/** The tables whose rows differ between two snapshots; empty when nothing changed. */
export function snapshotChanges(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys({ ...before, ...after }).filter((table) => before[table] !== after[table]);
}
