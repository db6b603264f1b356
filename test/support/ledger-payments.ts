// A payment provider stand-in whose ledger outlives the processes that use it: charges and
// refunds live in PostgreSQL tables of the test's schema, as they live at a real provider
// while a server is killed. Same rules as TestPayments, for cards that pay at once: one charge
// per idempotency key, one refund per refund key and never more than was charged, and a key
// voided before any charge refuses a later one (a charge made under it is refunded in full).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type {
  CardLookup,
  ChargeIdentity,
  ChargeOutcome,
  ChargeRequest,
  Payments,
  ProviderEvent,
  ProviderPaymentStatus,
  RefundOutcome,
  RefundRequest,
  VoidOutcome,
} from '../../src/app/ports/payments.ts';
import { testPaymentMethods } from '../../src/adapters/payments/test-payments.ts';
import { simulatedCard } from '../../src/adapters/payments/stripe-simulation.ts';
import { cancelledBeforeMadeReason } from '../../src/adapters/payments/stripe-payments.ts';

export interface LedgerCharge {
  key: string;
  charge_id: string;
  amount_cents: number;
  voided: boolean;
  /** Whether any of it was refunded. */
  refunded: boolean;
}

interface LedgerRefund {
  refund_id: string;
  charge_id: string;
  amount_cents: number;
}

export class LedgerPayments implements Payments {
  readonly name = 'test' as const;
  private readonly pool: pg.Pool;
  /** Called after a charge is made, before it is answered (a test may kill the process here). */
  afterCharge: (chargeId: string) => Promise<void> = async () => {};

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  }

  async createLedger(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS provider_ledger (key text PRIMARY KEY, charge_id text NOT NULL UNIQUE,
         description text NOT NULL, amount_cents integer NOT NULL, voided boolean NOT NULL,
         refunded boolean NOT NULL DEFAULT false);
       CREATE TABLE IF NOT EXISTS provider_ledger_refunds (key text PRIMARY KEY, refund_id text NOT NULL UNIQUE,
         charge_id text NOT NULL REFERENCES provider_ledger (charge_id), amount_cents integer NOT NULL,
         made bigserial NOT NULL)`,
    );
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    if (request.paymentMethod !== testPaymentMethods.succeeds) return { kind: 'declined', reason: 'declined' };
    await this.pool.query(
      `INSERT INTO provider_ledger (key, charge_id, description, amount_cents, voided) VALUES ($1, $2, $3, $4, false)
       ON CONFLICT (key) DO NOTHING`,
      [request.idempotencyKey, `pi_ledger_${randomUUID().replace(/-/g, '')}`, request.description, request.amountCents],
    );
    const charge = (await this.chargeByKey(request.idempotencyKey))!;
    if (charge.voided) return { kind: 'declined', reason: cancelledBeforeMadeReason, chargeId: charge.charge_id };
    await this.afterCharge(charge.charge_id);
    return { kind: 'succeeded', chargeId: charge.charge_id };
  }

  async cardOf(paymentMethod: string): Promise<CardLookup> {
    const card = simulatedCard(paymentMethod);
    return card ? { kind: 'card', fingerprint: card.fingerprint } : { kind: 'unknown', reason: 'no such card' };
  }

  async retrieve(chargeId: string): Promise<{ status: ProviderPaymentStatus; amountCents: number }> {
    const { rows } = await this.pool.query<LedgerCharge>('SELECT * FROM provider_ledger WHERE charge_id = $1', [
      chargeId,
    ]);
    const charge = rows[0];
    if (!charge) throw new Error(`No such payment: '${chargeId}'`);
    return { status: charge.voided ? 'canceled' : 'succeeded', amountCents: charge.amount_cents };
  }

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    const refund = await this.refundOnce(request.idempotencyKey, request.chargeId, request.amountCents);
    return { refundId: refund.refund_id, status: 'succeeded' };
  }

  async voidByKey(identity: ChargeIdentity): Promise<VoidOutcome> {
    await this.pool.query(
      `INSERT INTO provider_ledger (key, charge_id, description, amount_cents, voided) VALUES ($1, $2, $3, $4, true)
       ON CONFLICT (key) DO NOTHING`,
      [
        identity.idempotencyKey,
        `pi_void_${randomUUID().replace(/-/g, '')}`,
        identity.description,
        identity.amountCents,
      ],
    );
    const charge = (await this.chargeByKey(identity.idempotencyKey))!;
    if (charge.voided) return { kind: 'voided' };
    const refund = await this.refundOnce(`${identity.idempotencyKey}:void-refund`, charge.charge_id, null);
    return {
      kind: 'refunded',
      chargeId: charge.charge_id,
      refundId: refund.refund_id,
      amountCents: refund.amount_cents,
    };
  }

  parseWebhook(): ProviderEvent {
    throw new Error('LedgerPayments sends no webhooks');
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

  private async chargeByKey(key: string): Promise<LedgerCharge | undefined> {
    const { rows } = await this.pool.query<LedgerCharge>('SELECT * FROM provider_ledger WHERE key = $1', [key]);
    return rows[0];
  }

  /**
   * One refund per key (a repeat answers the first), never beyond what is left of the charge;
   * amountCents null refunds all that is left. The charge's row is locked while the sum is checked.
   */
  private async refundOnce(key: string, chargeId: string, amountCents: number | null): Promise<LedgerRefund> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows: charges } = await client.query<LedgerCharge>(
        'SELECT * FROM provider_ledger WHERE charge_id = $1 AND NOT voided FOR UPDATE',
        [chargeId],
      );
      const charge = charges[0];
      if (!charge) throw new Error(`No such payment: '${chargeId}'`);
      const { rows: previous } = await client.query<LedgerRefund>(
        'SELECT refund_id, charge_id, amount_cents FROM provider_ledger_refunds WHERE key = $1',
        [key],
      );
      if (previous[0]) {
        await client.query('COMMIT');
        if (previous[0].charge_id !== chargeId) throw new Error(`Refund key ${key} was used for another charge`);
        return previous[0];
      }
      const { rows: sums } = await client.query<{ refunded: number }>(
        'SELECT coalesce(sum(amount_cents), 0)::int AS refunded FROM provider_ledger_refunds WHERE charge_id = $1',
        [chargeId],
      );
      const leftCents = charge.amount_cents - sums[0]!.refunded;
      if (amountCents === null && leftCents === 0) {
        // Refunded in full already by other refunds: nothing is left for this one to refund.
        const { rows: latest } = await client.query<LedgerRefund>(
          'SELECT refund_id, charge_id, 0 AS amount_cents FROM provider_ledger_refunds WHERE charge_id = $1 ORDER BY made DESC LIMIT 1',
          [chargeId],
        );
        await client.query('COMMIT');
        return latest[0]!;
      }
      const amount = amountCents ?? leftCents;
      if (amount <= 0 || amount > leftCents) {
        throw new Error(`Refund amount (${amount}) is greater than unrefunded amount on charge (${leftCents})`);
      }
      const refund: LedgerRefund = {
        refund_id: `re_ledger_${randomUUID().replace(/-/g, '')}`,
        charge_id: chargeId,
        amount_cents: amount,
      };
      await client.query(
        'INSERT INTO provider_ledger_refunds (key, refund_id, charge_id, amount_cents) VALUES ($1, $2, $3, $4)',
        [key, refund.refund_id, chargeId, amount],
      );
      await client.query('UPDATE provider_ledger SET refunded = true WHERE charge_id = $1', [chargeId]);
      await client.query('COMMIT');
      return refund;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}
