// A payment provider stand-in whose ledger outlives the processes that use it: charges and
// refunds live in a PostgreSQL table of the test's schema, as they live at a real provider
// while a server is killed. Same rules as TestPayments: one charge per idempotency key,
// refunds idempotent, a key refunded before any charge is void.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ChargeOutcome, ChargeRequest, Payments } from '../../src/app/ports/payments.ts';
import { testPaymentMethods } from '../../src/adapters/payments/test-payments.ts';

export interface LedgerCharge {
  key: string;
  charge_id: string;
  voided: boolean;
  refunded: boolean;
}

export class LedgerPayments implements Payments {
  private readonly pool: pg.Pool;
  /** Called after a charge is made, before it is answered (a test may kill the process here). */
  afterCharge: (chargeId: string) => Promise<void> = async () => {};

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  }

  async createLedger(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS provider_ledger (key text PRIMARY KEY, charge_id text NOT NULL UNIQUE,
         description text NOT NULL, voided boolean NOT NULL, refunded boolean NOT NULL DEFAULT false)`,
    );
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    if (request.paymentMethod !== testPaymentMethods.succeeds) return { kind: 'declined', reason: 'declined' };
    await this.pool.query(
      `INSERT INTO provider_ledger (key, charge_id, description, voided) VALUES ($1, $2, $3, false)
       ON CONFLICT (key) DO NOTHING`,
      [request.idempotencyKey, `ch_ledger_${randomUUID().replace(/-/g, '')}`, request.description],
    );
    const { rows } = await this.pool.query<LedgerCharge>('SELECT * FROM provider_ledger WHERE key = $1', [
      request.idempotencyKey,
    ]);
    const charge = rows[0]!;
    if (charge.voided) return { kind: 'declined', reason: 'This payment was cancelled before it was made.' };
    await this.afterCharge(charge.charge_id);
    return { kind: 'succeeded', chargeId: charge.charge_id };
  }

  async refund(chargeId: string): Promise<void> {
    await this.pool.query('UPDATE provider_ledger SET refunded = true WHERE charge_id = $1 AND NOT voided', [chargeId]);
  }

  async refundByKey(idempotencyKey: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO provider_ledger (key, charge_id, description, voided) VALUES ($1, $2, 'voided', true)
       ON CONFLICT (key) DO UPDATE SET refunded = true WHERE NOT provider_ledger.voided`,
      [idempotencyKey, `ch_void_${randomUUID().replace(/-/g, '')}`],
    );
  }

  /** Charges (not voided keys) made for this reservation. */
  async chargesOf(reservationId: string): Promise<LedgerCharge[]> {
    const { rows } = await this.pool.query<LedgerCharge>(
      'SELECT * FROM provider_ledger WHERE NOT voided AND description = $1 ORDER BY charge_id',
      [`reservation ${reservationId}`],
    );
    return rows;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
